"""Train a model from a config (same options as mmpretrain's tools/train.py).

    python tools/train.py configs/resnet18_ms_cifar10.py [--work-dir DIR]
        [--resume [CKPT]] [--amp] [--no-validate] [--auto-scale-lr]
        [--cfg-options k=v ...] [--launcher pytorch|slurm|mpi]
"""
import os
import os.path as osp

import torch
from mmengine.config import Config

from cifar_plugins.apis.runner import (build_runner, merge_cfg_options,
                                       run_with_clear_errors)
from cifar_plugins.errors import ArgumentParser, DictAction


def parse_args():
    parser = ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from CKPT, or from the latest checkpoint '
        'in the work dir when CKPT is omitted')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='mixed precision in the dtype the device runs natively '
        "(AutocastOptimWrapper, dtype='auto'): bfloat16 on CPUs with "
        'AVX512-BF16/AMX and Ampere+ GPUs, float16 + loss scaling on '
        'older GPUs, float32 otherwise; the log says which')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='do not evaluate during training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the lr linearly with the total batch size')
    parser.add_argument('--no-pin-memory', action='store_true')
    parser.add_argument('--no-persistent-workers', action='store_true')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config keys, e.g. train_cfg.max_epochs=2')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def merge_args(cfg, args):
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    if args.amp:  # on every device; the wrapper picks the dtype and logs why
        cfg.optim_wrapper.type = 'AutocastOptimWrapper'
        cfg.optim_wrapper.dtype = 'auto'
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    for field in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg.get(field) is None:
            continue
        loader = dict(
            pin_memory=torch.cuda.is_available(),
            persistent_workers=True,
            collate_fn=dict(type='default_collate'))
        loader.update(cfg[field])
        if args.no_pin_memory:
            loader['pin_memory'] = False
        if args.no_persistent_workers:
            loader['persistent_workers'] = False
        cfg[field] = loader
    if args.cfg_options is not None:
        merge_cfg_options(cfg, args.cfg_options)
    return cfg


def main():
    args = parse_args()
    cfg = merge_args(Config.fromfile(args.config), args)
    build_runner(cfg, splits=('train', 'val')).train()


if __name__ == '__main__':
    run_with_clear_errors(main)
