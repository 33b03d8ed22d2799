"""Parameter and multiply-accumulate counts of a config's model."""
import copy
import math
import platform
from typing import Dict, Optional

import torch
from mmengine.analysis import FlopAnalyzer, parameter_count
from mmengine.analysis.jit_handles import get_shape

from cifar_plugins.registry import MODELS


def sdpa_macs(inputs, outputs) -> int:
    """FlopAnalyzer handle for ``aten::scaled_dot_product_attention``.

    mmengine 0.10 has none, so a ViT's attention would count as zero: here
    ``Q K^T`` and ``attention x V`` are counted; the scaling and softmax are
    elementwise and, like FlopAnalyzer's other elementwise ops, not counted.
    """
    q_shape, k_shape, v_shape = (get_shape(v) for v in inputs[:3])
    *batch, n_queries, dim = q_shape
    return math.prod(batch) * n_queries * k_shape[-2] * (dim + v_shape[-1])


def without_pretrained(model_cfg):
    """A copy of a model config with every boolean ``pretrained`` set to False
    (timm backbones would download weights while being built)."""
    model_cfg = copy.deepcopy(model_cfg)

    def visit(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == 'pretrained' and isinstance(value, bool):
                    node[key] = False
                else:
                    visit(value)
        elif isinstance(node, (list, tuple)):
            for item in node:
                visit(item)

    visit(model_cfg)
    return model_cfg


def count_macs(model, inputs) -> int:
    """MACs of one forward of ``model`` on ``inputs`` (a tuple of tensors).

    mmengine's ``FlopAnalyzer`` (one fused multiply-add = one op) plus the
    attention handle :func:`sdpa_macs`; warnings about ops without a handle
    are silenced (they are elementwise and not counted by design).
    """
    analyzer = FlopAnalyzer(model, inputs)
    analyzer.set_op_handle('aten::scaled_dot_product_attention', sdpa_macs)
    analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    return int(analyzer.total())


def model_complexity(cfg,
                     input_size: Optional[int] = None) -> Dict[str, float]:
    """Parameters and GMACs of ``cfg.model`` on one ``3 x S x S`` image.

    Reused: mmengine's ``FlopAnalyzer`` and ``parameter_count`` (what
    ``mmengine.analysis.get_model_complexity_info`` runs, minus its
    activation count and tables). FlopAnalyzer counts one fused
    multiply-add as one "flop", i.e. it returns MACs. Written here: the
    attention handle (:func:`sdpa_macs`) and building without downloading
    pretrained weights (random weights count the same). The whole classifier
    (backbone, neck, head) is counted, as in ``mode='tensor'``.

    Args:
        cfg (Config): A config with ``model`` (and optionally ``input_size``).
        input_size (int, optional): Image side; defaults to
            ``cfg.input_size`` or 32.

    Returns:
        dict: ``params`` (count), ``params_m`` (millions), ``macs`` and
        ``gmacs``.
    """
    import cifar_plugins  # noqa: F401  (registers the plugin's modules)
    size = int(input_size or cfg.get('input_size', 32))
    model = MODELS.build(without_pretrained(cfg.model))
    model.eval()
    with torch.no_grad():
        macs = count_macs(model, (torch.zeros(1, 3, size, size), ))
    params = int(parameter_count(model)[''])
    return dict(
        params=params, params_m=params / 1e6, macs=macs, gmacs=macs / 1e9)


# widest vector / matrix extension first: what decides which kernels (and which
# autocast dtype, see cifar_plugins.engine.optimizers.precision) a CPU runs
# natively
_ISA_LEVELS = (('amx_bf16', 'AMX'), ('avx512_bf16',
                                     'AVX512-BF16'), ('avx512f', 'AVX-512'),
               ('avx2', 'AVX2'), ('neon', 'NEON'), ('asimd', 'NEON'))


def cpu_name():
    """The CPU model, generation and widest ISA extension, from
    ``/proc/cpuinfo``.

    Virtual machines often report a bare family name ("AMD EPYC") for CPUs of
    different generations, whose speed differs by up to 2x: the family / model
    numbers and the ISA level (e.g.
    ``AMD EPYC (family 25 model 17, AVX512-BF16)`` for a Zen 4,
    ``model 1, AVX2`` for a Zen 3) tell them apart next to a figure. Elsewhere
    the platform's name.
    """
    fields = {}
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if not line.strip():
                    break  # the first processor's block is enough
                key, _, value = line.partition(':')
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    name = fields.get('model name')
    if not name:
        return platform.processor() or platform.machine()
    flags = set((fields.get('flags') or fields.get('Features') or '').split())
    details = []
    if 'cpu family' in fields and 'model' in fields:
        details.append(
            f"family {fields['cpu family']} model {fields['model']}")
    isa = next((label for flag, label in _ISA_LEVELS if flag in flags), None)
    if isa:
        details.append(isa)
    return f"{name} ({', '.join(details)})" if details else name


def cpu_ticks():
    """``(steal, total)`` CPU ticks since boot from ``/proc/stat`` (None
    elsewhere).

    On a virtual machine "steal" is time the hypervisor gave to other guests;
    the share between two readings tells how much a timing was slowed by a
    busy host.
    """
    try:
        with open('/proc/stat') as f:
            fields = f.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != 'cpu' or len(fields) < 9:
        return None
    ticks = [int(v) for v in fields[1:9]
             ]  # user nice system idle iowait irq softirq steal
    return ticks[7], sum(ticks)


def steal_share(before, after):
    """Fraction of CPU time stolen between two :func:`cpu_ticks` readings."""
    if before is None or after is None or after[1] <= before[1]:
        return None
    return (after[0] - before[0]) / (after[1] - before[1])
