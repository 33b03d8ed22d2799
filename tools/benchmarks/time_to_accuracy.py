"""Time to accuracy: finished runs of our recipes next to the published
airbench94, one table.

    python tools/benchmarks/time_to_accuracy.py \
        --run work_dirs/airbench_style_94_muon_cifar10 [--run DIR ...] \
        [--airbench-log work_dirs/airbench94_published.log ...] \
        [--data-root data/cifar10]

``--run``: the work dir of a finished ``mim train`` / ``tools/train.py`` run.
Its last checkpoint is tested here with the config's test-time augmentation (as
``mim test ... --tta``), timed, and scored on the whole restored test set and
on its exact images 0-999 (``labels.npz:test_lossless``). Training wall: first
to last line of the training log (start-up, whitening fit and the final
validation included).

``--airbench-log``: what ``tools/benchmarks/airbench_cpu.py`` printed. Training
wall: the ``total_time_seconds`` of airbench's last epoch row (its own timer:
whitening fit and training, not the per-epoch evaluations the shim keeps);
test: its final TTA row minus that; accuracy: the shim's exact / JPEG-decoded /
all line for the final TTA logits.

Images/s are nominal: epochs x 50,000 over the training wall. Run it on the
machine the runs were made on (the CPU printed is this machine's; a log naming
another CPU is flagged).
"""
import argparse
import os
import os.path as osp
import re
import time

import numpy as np
import torch
from mmengine.config import Config

import cifar_plugins  # noqa: F401
from cifar_plugins.analysis.checkpoint_eval import predict_test_labels
from cifar_plugins.analysis.complexity import cpu_name
from cifar_plugins.analysis.predictions import RESTORED_TEST_MASK
from cifar_plugins.analysis.run_logs import find_checkpoint, load_run
from cifar_plugins.datasets import load_split

TRAIN_IMAGES = 50000
REPORT = re.compile(
    r'exact images \((\d+)\): ([\d.]+)%(?:, JPEG-decoded \(\d+\): [\d.]+%, '
    r'all: ([\d.]+)%)?')


def tta_accuracy(cfg, checkpoint, images, labels, exact):
    """(seconds, top-1 on all, top-1 on the exact images) with the config's
    TTA."""
    start = time.perf_counter()
    correct = predict_test_labels(cfg, checkpoint, images, tta=True) == labels
    seconds = time.perf_counter() - start
    return seconds, 100 * correct.mean(), 100 * correct[exact].mean(
    ) if exact.any() else None


def our_row(run_dir, test_data):
    run = load_run(run_dir)
    checkpoint = find_checkpoint(run_dir, 'last')
    if checkpoint is None or run.config_path is None or run.wall_time is None:
        raise SystemExit(
            f'ERROR: {run_dir} has no finished training run (config copy, '
            f'timed log and last checkpoint); pass the --work-dir of one')
    cfg = Config.fromfile(run.config_path)
    test_s, top1_all, top1_exact = tta_accuracy(cfg, checkpoint, *test_data)
    return dict(
        recipe=run.config_name,
        epochs=cfg.train_cfg.max_epochs,
        seed=cfg.get('randomness', {}).get('seed'),
        train_s=run.wall_time,
        test_s=test_s,
        top1_all=top1_all,
        top1_exact=top1_exact)


def airbench_rows(log_path):
    """One row per run of an ``airbench_cpu.py`` log."""
    if not osp.isfile(log_path):
        raise SystemExit(
            f'ERROR: no airbench log at {log_path}; save the output of '
            f'tools/benchmarks/airbench_cpu.py there')
    with open(log_path, errors='replace') as f:
        text = f.read()
    header = re.search(r'airbench ([\d.]+) airbench94 on CPU.*', text)
    if header is None:
        raise SystemExit(f'ERROR: {log_path} is not output of '
                         'tools/benchmarks/airbench_cpu.py')
    cpu = re.search(r'CPU: (.+),\s*$',
                    header.group(0))  # the name may hold commas
    epochs = re.search(r"'epochs': ([\d.]+)", header.group(0))
    rows, last_epoch_s = [], None
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        if len(cells) == 7 and cells[1].isdigit():
            last_epoch_s = float(cells[6])
        elif len(cells
                 ) == 7 and cells[1] == 'eval' and last_epoch_s is not None:
            rows.append(
                dict(
                    recipe=f'published airbench94 ({header.group(1)})',
                    epochs=float(epochs.group(1)) if epochs else 9.9,
                    seed=len(rows),
                    train_s=last_epoch_s,
                    test_s=float(cells[6]) - last_epoch_s,
                    top1_all=100 * float(cells[5]),
                    top1_exact=None,
                    cpu=cpu.group(1) if cpu else None))
            last_epoch_s = None
        report = REPORT.search(line)
        if report and rows and 'with TTA' in line:
            rows[-1]['top1_exact'] = float(report.group(2))
    if not rows:
        raise SystemExit(f'ERROR: {log_path} holds no finished '
                         'airbench94 run (no final TTA row)')
    return rows


def minutes(seconds):
    return f'{int(seconds // 60)} min {seconds % 60:02.0f} s'


def print_table(rows, machine):
    print(f'CPU: {machine}, torch threads: {torch.get_num_threads()}')
    print('| recipe | epochs | seed | training images/s | test top-1, TTA '
          '(all 10,000) | exact images 0-999, TTA | training + test wall |')
    print('| --- | --- | --- | --- | --- | --- | --- |')
    for row in rows:
        exact = '—' if row[
            'top1_exact'] is None else f"{row['top1_exact']:.2f}%"
        # logs written before cpu_name() gave family / model / ISA name the
        # model only
        other_cpu = row.get('cpu') and not (
            row['cpu'] == machine or machine.startswith(row['cpu'] + ' ('))
        recipe = row['recipe'] + (f" (log from {row['cpu']})"
                                  if other_cpu else '')
        print(
            f"| {recipe} | {row['epochs']:g} | {row['seed']} "
            f"| {row['epochs'] * TRAIN_IMAGES / row['train_s']:.1f} "
            f"| {row['top1_all']:.2f}% | {exact} "
            f"| {minutes(row['train_s'])} + {minutes(row['test_s'])} = "
            f"{minutes(row['train_s'] + row['test_s'])} |",
            flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument(
        '--run',
        action='append',
        default=[],
        help='work dir of a finished run')
    parser.add_argument(
        '--airbench-log',
        action='append',
        default=[],
        help='output of tools/benchmarks/airbench_cpu.py')
    parser.add_argument(
        '--data-root', default=os.environ.get('CIFAR10_ROOT', 'data/cifar10'))
    parser.add_argument(
        '--lossless',
        default=RESTORED_TEST_MASK,
        help='labels.npz marking the exact test images (skipped if absent)')
    args = parser.parse_args()
    if not args.run and not args.airbench_log:
        parser.error('give at least one --run or --airbench-log')
    rows = []
    for log in args.airbench_log:
        rows.extend(airbench_rows(log))
    if args.run:
        images, labels = load_split(args.data_root, 'cifar10', 'test')
        exact = (
            np.load(args.lossless)['test_lossless'].astype(bool)
            if osp.exists(args.lossless) else np.zeros(len(labels), bool))
        for run_dir in args.run:
            rows.append(our_row(run_dir, (images, labels, exact)))
    print_table(rows, cpu_name())


if __name__ == '__main__':
    main()
