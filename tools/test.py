"""Evaluate a checkpoint (the options of mmpretrain's tools/test.py).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR]
        [--out FILE [--out-item {metrics,pred}]] [--cfg-options k=v ...]
        [--show-dir DIR] [--show] [--interval N] [--wait-time S]
        [--no-pin-memory] [--tta] [--amp] [--launcher pytorch|slurm|mpi]

--tta wraps the model in the config's ``tta_model`` (BatchFlipTranslateTTA,
mirror + 1-pixel translations on the batch tensor, when the config has none)
and gives the test dataset the config's ``tta_pipeline`` if it has one. Every
config of this package sets both in its ``_base_`` files, so mmpretrain's
tools/test.py --tta (``mim test``) tests them the same way.
--cfg-options are merged first, so keys are those of the config as written
(e.g. ``model.head.num_classes`` or ``tta_model.level=1`` together with --tta).
"""
import os
import os.path as osp

from mmengine.config import Config, ConfigDict

from cifar_plugins.apis.runner import (ConfigError, build_runner,
                                       check_num_classes, merge_cfg_options,
                                       run_with_clear_errors)
from cifar_plugins.errors import ArgumentParser, DictAction
from cifar_plugins.models.tta import DEFAULT_TTA_MODEL


def parse_args(argv=None):
    parser = ArgumentParser(description='Evaluate a checkpoint')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save logs and metrics')
    parser.add_argument(
        '--out',
        help='write predictions (or metrics, see --out-item) '
        'to this file, e.g. results.pkl')
    parser.add_argument(
        '--out-item',
        choices=['metrics', 'pred'],
        help='what --out holds: per-sample predictions (default) or '
        'the metrics')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config keys (merged before the other options)')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='test under autocast in the dtype the device runs natively '
        '(bfloat16 on CPUs with AVX512-BF16/AMX and Ampere+ GPUs, float16 '
        'on older GPUs); float32 with a log line where there is none')
    parser.add_argument(
        '--show-dir',
        help='save images with their predictions here '
        '(through the VisualizationHook)')
    parser.add_argument(
        '--show',
        action='store_true',
        help='display the prediction results in a window')
    parser.add_argument(
        '--interval',
        type=int,
        default=1,
        help='visualize every INTERVAL-th sample')
    parser.add_argument(
        '--wait-time',
        type=float,
        default=2,
        help='display time of every window (seconds)')
    parser.add_argument(
        '--no-pin-memory',
        action='store_true',
        help='disable pin_memory in the test dataloader (by default it is '
        'on when CUDA is available, unless the config sets it)')
    parser.add_argument(
        '--tta',
        action='store_true',
        help='test-time augmentation: the config\'s tta_model (default '
        'BatchFlipTranslateTTA: mirror + 1-pixel translations) and '
        'tta_pipeline (default: the test pipeline unchanged)')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if args.out_item is not None and args.out is None:
        parser.error('--out-item needs --out FILE')
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def apply_amp(cfg, device_type=None):
    """Enable autocast in the test loop if the device runs a low precision
    natively.

    mmengine's TestLoop autocasts with ``test_cfg.fp16=True`` (bfloat16 on
    CPU, ``torch.get_autocast_dtype('cuda')`` on CUDA). The dtype is chosen
    by :func:`cifar_plugins.engine.optimizers.precision.choose_autocast_dtype`,
    as for training with ``AutocastOptimWrapper(dtype='auto')``.

    Args:
        cfg (Config): The config; ``test_cfg`` is updated.
        device_type (str, optional): Defaults to mmengine's current device.

    Returns:
        str: One line for the log saying which precision and why.
    """
    import torch
    from mmengine.device import get_device

    from cifar_plugins.engine.optimizers import precision
    device_type = device_type or get_device()
    dtype, reason = precision.choose_autocast_dtype(device_type)
    if dtype is None:
        return f'--amp: testing in float32 (no autocast): {reason}'
    cfg.test_cfg = dict(cfg.get('test_cfg') or {}, fp16=True)
    if device_type == 'cuda' and hasattr(torch, 'set_autocast_dtype'):
        torch.set_autocast_dtype('cuda', dtype)
    name = precision.precision_name(dtype)
    return f'--amp: testing under {name} autocast: {reason}'


def apply_visualization(cfg, args):
    """--show/--show-dir/--interval/--wait-time into the VisualizationHook."""
    if not (args.show or args.show_dir is not None):
        return
    hooks = cfg.get('default_hooks') or {}
    if not hooks.get('visualization'):
        raise ConfigError(
            '--show/--show-dir need a VisualizationHook: set '
            'default_hooks.visualization=dict(type="VisualizationHook")')
    hooks['visualization'].update(
        enable=True,
        show=args.show,
        wait_time=args.wait_time,
        out_dir=args.show_dir,
        interval=args.interval)


def apply_tta(cfg):
    """Wrap the model in ``cfg.tta_model`` and use ``cfg.tta_pipeline`` if set.

    Without ``tta_model`` the wrapper is :class:`BatchFlipTranslateTTA`;
    without ``tta_pipeline`` the test dataset keeps its pipeline (the wrapper
    makes its views from the batch tensor).
    """
    check_num_classes(
        cfg)  # on the config as written, before the head moves to model.module
    if cfg.get('tta_model') is None:
        cfg.tta_model = dict(DEFAULT_TTA_MODEL)
    if cfg.get('tta_pipeline') is not None:
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        merge_cfg_options(cfg, args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'Checkpoint not found: {args.checkpoint}')
    cfg.load_from = args.checkpoint
    amp_message = apply_amp(cfg) if args.amp else None
    apply_visualization(cfg, args)
    if args.tta:
        apply_tta(cfg)
    import torch
    cfg.test_dataloader = {
        'collate_fn': dict(type='default_collate'),
        'pin_memory': torch.cuda.is_available(),
        **cfg.test_dataloader, 'persistent_workers': False
    }
    if args.no_pin_memory:
        cfg.test_dataloader['pin_memory'] = False
    runner = build_runner(cfg, splits=('test', ))
    if amp_message:
        runner.logger.info(amp_message)
    if args.out and args.out_item in ('pred', None):
        from mmengine.evaluator import DumpResults
        runner.test_evaluator.metrics.append(
            DumpResults(out_file_path=args.out))
    metrics = runner.test()
    if args.out and args.out_item == 'metrics':
        import mmengine
        mmengine.dump(metrics, args.out)
    print(' '.join(f'{k}: {v:.2f}' for k, v in metrics.items()))


if __name__ == '__main__':
    run_with_clear_errors(main)
