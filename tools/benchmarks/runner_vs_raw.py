"""Training images/s of the mmengine Runner vs a bare PyTorch loop, same run.

    python tools/benchmarks/runner_vs_raw.py \
        configs/fast/airbench_style_94_cifar10.py \
        configs/fastcifarnet_per_sample_cifar10.py --iters 30 --warmup 5

For each config both loops train the same model (built from the config), at the
config's batch size and precision, on the same in-memory uint8 CIFAR-10 images
with the same batch-level crop/flip and normalisation; the Runner goes through
the config's dataloader, data preprocessor, optimizer wrapper and hooks.
Steady-state images/s skip the first ``--warmup`` iterations. Prints one row
per config: Runner, raw, and their ratio, with the CPU model and thread count;
with ``--repeats N`` the loops alternate N times, each alternation is printed
(its spread shows how much the host's speed drifted) and the row gives the
means. Both loops run with the configs' glibc heap reuse (``HeapReuseHook``)
applied process-wide from the start; ``--no-heap-reuse`` runs both without it.
"""
import argparse
import os
import os.path as osp
import tempfile
import time

import torch
import torch.nn.functional as F
from mmengine.config import Config, DictAction
from mmengine.hooks import Hook
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

import cifar_plugins  # noqa: F401
from cifar_plugins.analysis.complexity import cpu_name, cpu_ticks, steal_share
from cifar_plugins.apis.runner import build_runner
from cifar_plugins.datasets import InMemoryBatchDataset
from cifar_plugins.engine.hooks import keep_freed_heap
from cifar_plugins.engine.optimizers.precision import resolve_autocast_dtype
from cifar_plugins.models.utils.batch_augment import random_crop_flip
from cifar_plugins.registry import MODELS


class StepClock(Hook):
    """Wall time from the end of iteration ``warmup`` to the end of the
    last."""

    priority = 'LOWEST'

    def __init__(self, warmup):
        self.warmup, self.start, self.end, self.count = warmup, None, None, 0

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        self.count += 1
        if self.count == self.warmup:
            self.start = time.perf_counter()
        self.end = time.perf_counter()


def config_dtype(cfg):
    """The autocast dtype the config's optimizer wrapper picks here (None:
    float32)."""
    if cfg.optim_wrapper.get('type') != 'AutocastOptimWrapper':
        return None
    return resolve_autocast_dtype('cpu',
                                  cfg.optim_wrapper.get('dtype', 'auto'))[0]


def runner_images_per_s(cfg, data_root, iters, warmup, work_dir):
    batch = cfg.train_dataloader.batch_size
    cfg = cfg.copy()
    cfg.work_dir = work_dir
    # mmengine keys its global Visualizer / logger by experiment name, which
    # defaults to the config name + the second it started: two short Runners in
    # one second would share the first one's (deleted) work dir
    cfg.experiment_name = f'runner_vs_raw_{osp.basename(work_dir)}'
    cfg.train_dataloader.dataset.data_root = data_root
    cfg.train_dataloader.dataset.indices = batch * (iters + warmup)
    cfg.train_cfg = dict(by_epoch=True, max_epochs=1, val_interval=10)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=10**6)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=10**6)
    cfg.param_scheduler = None
    cfg.log_level = 'WARNING'
    runner = build_runner(cfg)
    clock = StepClock(warmup)
    runner.register_hook(clock)
    runner.train()
    return batch * (clock.count - warmup) / (clock.end - clock.start), runner


def raw_images_per_s(cfg, images, labels, iters, warmup):
    """The bare loop: tensors in, same model / optimizer / precision /
    augmentation."""
    model_cfg = cfg.model.copy()
    if cfg.get('data_preprocessor') is not None:  # as the Runner does
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    model = MODELS.build(model_cfg)
    model.train()
    pre = model.data_preprocessor
    mean, std = pre.mean.view(1, -1, 1, 1), pre.std.view(1, -1, 1, 1)
    # the config's optimizer with its parameter groups (the wrapper itself is
    # not used)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        optimizer = build_optim_wrapper(model,
                                        cfg.optim_wrapper.copy()).optimizer
    dtype = config_dtype(cfg)
    smooth = cfg.model.head.get('loss', {}).get('label_smooth_val', 0.0)
    batch = cfg.train_dataloader.batch_size
    channels_last = pre.channels_last
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    perm = torch.randperm(len(images))
    start = None
    for step in range(iters + warmup):
        idx = perm[step * batch:(step + 1) * batch]
        x = random_crop_flip(
            images[idx],
            pre.crop_padding,
            pre.flip_prob,
            pad_mode=pre.crop_pad_mode)
        x = (x.float() - mean) / std
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(
                'cpu', dtype=dtype or torch.bfloat16, enabled=dtype
                is not None):
            logits = model(x, mode='tensor')
            loss = F.cross_entropy(
                logits.float(), labels[idx], label_smoothing=smooth)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step + 1 == warmup:
            start = time.perf_counter()
    return batch * iters / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('configs', nargs='+')
    parser.add_argument(
        '--data-root', default=os.environ.get('CIFAR10_ROOT', 'data/cifar10'))
    parser.add_argument(
        '--iters', type=int, default=30, help='timed iterations')
    parser.add_argument('--warmup', type=int, default=5)
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='applied to every config, e.g. optim_wrapper.dtype=float32')
    parser.add_argument(
        '--repeats',
        type=int,
        default=1,
        help='alternate Runner and raw this many times; report the mean')
    parser.add_argument(
        '--no-heap-reuse',
        action='store_true',
        help='both loops with glibc malloc as it is (no HeapReuseHook)')
    args = parser.parse_args()
    heap = 'off' if args.no_heap_reuse else (
        'on' if keep_freed_heap() else 'n/a (not glibc)')
    data = InMemoryBatchDataset(
        dict(
            type='VerifiedCIFAR10',
            data_root=args.data_root,
            split='train',
            download=False,
            pipeline=[]))
    print(f'CPU: {cpu_name()}, torch threads: {torch.get_num_threads()}, '
          f'torch {torch.__version__}, heap reuse: {heap}')
    print(f'{"config":<40} {"batch":>5} {"precision":>9} {"Runner img/s":>12} '
          f'{"raw img/s":>10} {"ratio":>6}')
    ticks = cpu_ticks()
    for path in args.configs:
        cfg = Config.fromfile(path)
        if args.cfg_options:
            cfg.merge_from_dict(args.cfg_options)
        if args.no_heap_reuse:
            cfg.default_hooks.heap_reuse = None
        dtype = config_dtype(cfg)
        precision = 'float32' if dtype is None else str(dtype).replace(
            'torch.', '')
        ours, raws = [], []
        for _ in range(args.repeats):
            with tempfile.TemporaryDirectory() as work_dir:
                ours.append(
                    runner_images_per_s(cfg, args.data_root, args.iters,
                                        args.warmup, work_dir)[0])
            raws.append(
                raw_images_per_s(cfg, data.images, data.labels, args.iters,
                                 args.warmup))
        # the spread shows how much the host's speed drifted
        if args.repeats > 1:
            for i, (a, b) in enumerate(zip(ours, raws)):
                print(f'  alternation {i + 1}: Runner {a:.1f} '
                      f'img/s, raw {b:.1f} img/s, ratio {a / b:.3f}')
        runner_ips, raw_ips = sum(ours) / len(ours), sum(raws) / len(raws)
        print(
            f'{osp.basename(path):<40} {cfg.train_dataloader.batch_size:>5} '
            f'{precision:>9} {runner_ips:>12.1f} {raw_ips:>10.1f} '
            f'{runner_ips / raw_ips:>6.3f}',
            flush=True)
    steal = steal_share(ticks, cpu_ticks())
    if steal is not None:
        print('CPU steal (time the host gave to other VMs) '
              f'during the runs: {steal:.0%}')


if __name__ == '__main__':
    main()
