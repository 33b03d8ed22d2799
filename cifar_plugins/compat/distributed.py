"""Multi-process training on machines without CUDA.

mmengine 0.10.7 assumes GPUs when launched with ``--launcher pytorch|slurm``:
``_init_dist_pytorch``/``_init_dist_slurm`` call ``torch.cuda.set_device`` and
the configs ask for the ``nccl`` backend; ``Runner.wrap_model`` passes
``device_ids=[LOCAL_RANK]`` to DDP, which DDP rejects for a CPU module. We
patch those three places so that without CUDA the processes use ``gloo`` and
DDP gets ``device_ids=None``. With CUDA the original code runs unchanged.
"""
import os
import subprocess

import torch
import torch.distributed as torch_dist
from mmengine.dist import utils as dist_utils
from mmengine.logging import print_log
from mmengine.model.wrappers import MMDistributedDataParallel

_PATCHED = '_cifar_plugins_cpu_patch'


def _cpu_backend(backend):
    if backend not in ('gloo', 'mpi'):
        print_log(
            f'CUDA is not available: using the "gloo" backend instead of '
            f'"{backend}" for CPU processes.',
            logger='current')
        return 'gloo'
    return backend


def _wrap_init(original, prepare_env):

    def init(backend, *args, init_backend='torch', **kwargs):
        if torch.cuda.is_available() or init_backend != 'torch':
            return original(
                backend, *args, init_backend=init_backend, **kwargs)
        prepare_env(*args, **kwargs)
        kwargs.pop('port', None)
        torch_dist.init_process_group(backend=_cpu_backend(backend), **kwargs)

    setattr(init, _PATCHED, True)
    init.__wrapped__ = original
    return init


def _pytorch_env(*args, **kwargs):
    """torchrun already exports RANK, WORLD_SIZE, MASTER_ADDR/PORT."""


def _slurm_env(port=None, **kwargs):
    """Export the variables ``init_process_group`` reads, as mmengine does."""
    node_list = os.environ['SLURM_NODELIST']
    if port is not None:
        os.environ['MASTER_PORT'] = str(port)
    os.environ.setdefault('MASTER_PORT', '29500')
    if 'MASTER_ADDR' not in os.environ:
        os.environ['MASTER_ADDR'] = subprocess.getoutput(
            f'scontrol show hostname {node_list} | head -n1')
    os.environ['WORLD_SIZE'] = os.environ['SLURM_NTASKS']
    os.environ['LOCAL_RANK'] = os.environ.get('SLURM_LOCALID', '0')
    os.environ['RANK'] = os.environ['SLURM_PROCID']


def _patch_ddp_init():
    original = MMDistributedDataParallel.__init__
    if getattr(original, _PATCHED, False):
        return

    def __init__(self, module, detect_anomalous_params=False, **kwargs):
        param = next(module.parameters(), None)
        if param is not None and param.device.type == 'cpu':
            kwargs['device_ids'] = None  # DDP on CPU takes no device ids
            kwargs.pop('output_device', None)
        original(
            self,
            module,
            detect_anomalous_params=detect_anomalous_params,
            **kwargs)

    setattr(__init__, _PATCHED, True)
    MMDistributedDataParallel.__init__ = __init__


def patch_distributed():
    """Make mmengine's ``init_dist`` and DDP wrapper work on CPU-only hosts."""
    if not getattr(dist_utils._init_dist_pytorch, _PATCHED, False):
        dist_utils._init_dist_pytorch = _wrap_init(
            dist_utils._init_dist_pytorch, _pytorch_env)
        dist_utils._init_dist_slurm = _wrap_init(dist_utils._init_dist_slurm,
                                                 _slurm_env)
    _patch_ddp_init()
