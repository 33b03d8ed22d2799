"""Plot training/validation loss and validation error per epoch of one or more
runs.

    python tools/analysis/plot_curves.py work_dirs/plain18 work_dirs/plain34 \
        --labels Plain18 Plain34 --out-dir reports/plain

Writes loss.png, val_error.png, curves.csv (every run and epoch) and curves.md
(one summary row per run) into --out-dir (default: <first
run>/analysis/curves).
"""
import os.path as osp

import matplotlib

matplotlib.use('Agg')

from cifar_plugins.analysis import load_runs, plot_curves
from cifar_plugins.apis.runner import run_with_clear_errors
from cifar_plugins.errors import ArgumentParser


def parse_args():
    parser = ArgumentParser(description='Plot the per-epoch curves of runs')
    parser.add_argument(
        'run_dirs',
        nargs='+',
        metavar='RUN_DIR',
        help='work dirs of training runs')
    parser.add_argument('--labels', nargs='+', help='one legend label per run')
    parser.add_argument(
        '--out-dir',
        help='output folder (default: '
        '<first RUN_DIR>/analysis/curves)')
    args = parser.parse_args()
    if args.labels and len(args.labels) != len(args.run_dirs):
        parser.error(f'--labels got {len(args.labels)} names for '
                     f'{len(args.run_dirs)} runs')
    return args


def main():
    args = parse_args()
    out_dir = args.out_dir or osp.join(args.run_dirs[0], 'analysis', 'curves')
    paths = plot_curves(load_runs(args.run_dirs, args.labels), out_dir)
    for kind, path in paths.items():
        print(f'{kind}: {path}')


if __name__ == '__main__':
    run_with_clear_errors(main)
