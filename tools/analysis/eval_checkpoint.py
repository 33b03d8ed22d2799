"""Evaluate a checkpoint on the test set: per-class table, confusion matrix,
image grids.

    python tools/analysis/eval_checkpoint.py CONFIG CHECKPOINT [--out-dir DIR]
    python tools/analysis/eval_checkpoint.py CHECKPOINT  # its stored config

Writes per_class_accuracy.{md,csv}, confusion_matrix.{png,csv},
predictions_grid.png, confident_mistakes.{png,csv}, predictions.npz and
eval_summary.json into --out-dir (default: <checkpoint dir>/analysis/<name>).
Point the config at the data with --cfg-options
test_dataloader.dataset.data_root=... if needed.
"""
import os.path as osp

import matplotlib

matplotlib.use('Agg')

from cifar_plugins.analysis import evaluate_checkpoint
from cifar_plugins.apis.runner import run_with_clear_errors
from cifar_plugins.errors import ArgumentParser, DictAction


def parse_args():
    parser = ArgumentParser(
        description='Evaluate a checkpoint and draw its errors')
    parser.add_argument(
        'paths',
        nargs='+',
        metavar='[CONFIG] CHECKPOINT',
        help='config file (optional: the checkpoint holds one) and checkpoint')
    parser.add_argument('--out-dir', help='output folder')
    parser.add_argument(
        '--device', help='cpu, cuda, cuda:1... (default: cuda if available)')
    parser.add_argument('--batch-size', type=int, help='test batch size')
    parser.add_argument(
        '--num-grid',
        type=int,
        default=32,
        help='images in the prediction grid (default 32)')
    parser.add_argument(
        '--num-mistakes',
        type=int,
        default=24,
        help='images in the confident-mistakes grid (default 24)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config keys, e.g. test_dataloader.dataset.data_root=...'
    )
    args = parser.parse_args()
    if len(args.paths) > 2:
        parser.error('give at most CONFIG and CHECKPOINT')
    if args.batch_size is not None and args.batch_size < 1:
        parser.error(f'--batch-size must be at least 1, got {args.batch_size}')
    if args.num_grid < 0 or args.num_mistakes < 0:
        parser.error('--num-grid and --num-mistakes must be >= 0')
    return args


def main():
    args = parse_args()
    config, checkpoint = (None,
                          *args.paths) if len(args.paths) == 1 else args.paths
    result = evaluate_checkpoint(
        checkpoint,
        args.out_dir,
        config=config,
        cfg_options=args.cfg_options,
        device=args.device,
        batch_size=args.batch_size,
        num_grid=args.num_grid,
        num_mistakes=args.num_mistakes)
    print(f'top-1 {result["top1"]:.2f}  top-5 {result["top5"]:.2f}  '
          f'cross-entropy {result["cross_entropy"]:.4f}  '
          f'({result["images"]} images)')
    print(f'Wrote {len(result["paths"])} files to '
          f'{osp.dirname(result["paths"]["summary"])}')


if __name__ == '__main__':
    run_with_clear_errors(main)
