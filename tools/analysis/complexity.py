"""Complexity and cost table of configs: params, GMACs, throughput, latency.

    python tools/analysis/complexity.py CONFIG [CONFIG ...] --batch-size 64 \
        --out-dir DIR [--device cpu|cuda] [--warmup 3] [--runs 10] \
        [--no-pretrained] [--name complexity] [--append] \
        [--cfg-options k=v ...]

For each config the model is built (random weights; ``init_weights`` is not
called), put in eval mode and measured on ``3 x S x S`` inputs, S being the
config's top-level ``input_size`` (default 32):

* parameters: mmengine's ``parameter_count``;
* GMACs per image: mmengine's ``FlopAnalyzer`` (which counts one fused
  multiply-add as one op, i.e. MACs) on one image, with a handle added for
  ``aten::scaled_dot_product_attention`` that mmengine 0.10 does not count
  (Q K^T and attention x V; without it a ViT's attention is missing);
* throughput and per-sample latency: ``--warmup`` untimed then ``--runs``
  timed forward passes of one batch under ``torch.no_grad()`` (CUDA is
  synchronised around each); the median batch time is reported, the spread is
  the standard deviation over the runs.

Prints a markdown table and writes DIR/NAME.md and DIR/NAME.csv. With
``--append`` the rows are added to an existing NAME.csv (e.g. a second run
with a smaller batch for large models) and NAME.md is rewritten from it.
A config that does not build is reported as ``ERROR: ...`` and the exit code
is 1; the others are still measured.
"""
import csv
import os
import os.path as osp
import shlex
import statistics
import sys
import time
import traceback

import torch
from mmengine.analysis import parameter_count
from mmengine.config import Config

from cifar_plugins.analysis.complexity import (count_macs, cpu_name,
                                               without_pretrained)
from cifar_plugins.apis.runner import merge_cfg_options, run_with_clear_errors
from cifar_plugins.errors import ArgumentParser, DictAction, user_error_message

COLUMNS = [
    'config', 'input_size', 'batch_size', 'params_M', 'GMACs',
    'throughput_samples_per_s', 'latency_us_per_sample', 'latency_std_us',
    'device', 'command'
]
HEADERS = [
    'config', 'input', 'batch', 'params (M)', 'GMACs',
    'throughput (samples/s)', 'latency (µs/sample)', 'device'
]


def parse_args(argv=None):
    parser = ArgumentParser(
        description='Params, GMACs, throughput and latency')
    parser.add_argument('configs', nargs='+', metavar='CONFIG')
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--out-dir', required=True)
    parser.add_argument(
        '--name',
        default='complexity',
        help='output file stem: OUT_DIR/NAME.md and .csv')
    parser.add_argument('--device', default='cpu', help='cpu, cuda or cuda:N')
    parser.add_argument(
        '--warmup', type=int, default=3, help='untimed runs first')
    parser.add_argument('--runs', type=int, default=10, help='timed runs')
    parser.add_argument(
        '--no-pretrained',
        action='store_true',
        help='set every `pretrained` key of the model config to False '
        '(measure the architecture without downloading weights)')
    parser.add_argument(
        '--append',
        action='store_true',
        help='add the rows to an existing NAME.csv instead of replacing it')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config keys of every config')
    args = parser.parse_args(argv)
    if args.batch_size < 1 or args.runs < 1 or args.warmup < 0:
        parser.error('--batch-size and --runs must be >= 1, --warmup >= 0')
    return args


def time_forward(model, batch, warmup, runs):
    """Batch times (s) of ``runs`` forward passes after ``warmup`` untimed
    ones."""
    sync = torch.cuda.synchronize if batch.device.type == 'cuda' else (
        lambda: None)
    times = []
    with torch.no_grad():
        for i in range(warmup + runs):
            sync()
            start = time.perf_counter()
            model(batch)
            sync()
            if i >= warmup:
                times.append(time.perf_counter() - start)
    return times


def device_label(device):
    if device.type == 'cuda':
        return torch.cuda.get_device_name(device)
    threads = torch.get_num_threads()
    return f"{cpu_name()}, {threads} thread{'s' if threads > 1 else ''}"


def build_model(path, args):
    """The config's model and input size, with the command-line overrides."""
    from cifar_plugins.registry import MODELS
    cfg = Config.fromfile(path)
    if args.cfg_options:
        merge_cfg_options(cfg, args.cfg_options)
    model_cfg = without_pretrained(
        cfg.model) if args.no_pretrained else cfg.model
    return MODELS.build(model_cfg), int(cfg.get('input_size', 32))


def measure(model, size, args, device):
    """Params, GMACs and timing of ``model`` as the table's numeric columns."""
    model.to(device)
    model.eval()  # mmpretrain backbones' train() returns None: do not chain
    with torch.no_grad():
        macs = count_macs(model,
                          (torch.zeros(1, 3, size, size, device=device), ))
    params = parameter_count(model)['']
    batch = torch.randn(args.batch_size, 3, size, size, device=device)
    times = time_forward(model, batch, args.warmup, args.runs)
    median = statistics.median(times)
    spread = statistics.stdev(times) if len(times) > 1 else 0.0
    return dict(
        input_size=size,
        batch_size=args.batch_size,
        params_M=params / 1e6,
        GMACs=round(macs / 1e9, 6),
        throughput_samples_per_s=float(f'{args.batch_size / median:.4g}'),
        latency_us_per_sample=round(median / args.batch_size * 1e6, 1),
        latency_std_us=round(spread / args.batch_size * 1e6, 1),
        device=device_label(device),
    )


def markdown(rows):
    lines = ['| ' + ' | '.join(HEADERS) + ' |', '|' + ' --- |' * len(HEADERS)]
    for r in rows:
        cells = [
            r['config'], f"{r['input_size']}x{r['input_size']}",
            r['batch_size'], f"{float(r['params_M']):.2f}",
            f"{float(r['GMACs']):.3f}",
            f"{float(r['throughput_samples_per_s']):,.4g}",
            f"{float(r['latency_us_per_sample']):,.0f} ± "
            f"{float(r['latency_std_us']):,.0f}", r['device']
        ]
        lines.append('| ' + ' | '.join(str(c) for c in cells) + ' |')
    commands = list(dict.fromkeys(r['command'] for r in rows))
    lines += [
        '', 'GMACs per image (mmengine FlopAnalyzer + attention); '
        'throughput and latency from the median of the timed batches, ± '
        'their standard deviation per sample. Measured with:', ''
    ]
    lines += [f'    {c}' for c in commands]
    return '\n'.join(lines) + '\n'


def write_outputs(rows, out_dir, name, append):
    os.makedirs(out_dir, exist_ok=True)
    csv_path, md_path = osp.join(out_dir, f'{name}.csv'), osp.join(
        out_dir, f'{name}.md')
    if append and osp.isfile(csv_path):
        with open(csv_path, newline='') as f:
            rows = list(csv.DictReader(f)) + rows
    with open(csv_path, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    text = markdown(rows)
    with open(md_path, 'w') as f:
        f.write(text)
    return text


def report_failure(what, err):
    """One ``ERROR:`` line for a user error; the traceback first for any other
    error.

    Args:
        what (str): What failed, e.g. ``'CONFIG does not build'``.
        err (Exception): The exception.
    """
    msg = user_error_message(err)
    if msg is None:
        traceback.print_exc()
        msg = f'{type(err).__name__}: {err}'
    print(f'ERROR: {what}: {msg}', file=sys.stderr)


def main(argv=None):
    args = parse_args(argv)
    device = torch.device(args.device)
    if device.type == 'cuda' and not torch.cuda.is_available():
        print(
            'ERROR: --device cuda requested but CUDA is not available',
            file=sys.stderr)
        return 1
    threads = os.environ.get('OMP_NUM_THREADS')
    command = ' '.join(
        ([f'OMP_NUM_THREADS={threads}'] if threads else []) +
        ['python', 'tools/analysis/complexity.py'] +
        [shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])])
    rows, failed = [], []
    for path in args.configs:
        name = osp.splitext(osp.basename(path))[0]
        try:
            model, size = build_model(path, args)
        # one bad config must not lose the others' rows
        except Exception as err:
            failed.append(path)
            report_failure(f'{path} does not build', err)
            continue
        try:
            row = dict(
                config=name,
                **measure(model, size, args, device),
                command=command)
        except Exception as err:
            failed.append(path)
            report_failure(f'{path} built but could not be measured', err)
            continue
        finally:
            del model
        rows.append(row)
        print(
            f"{path}: {row['params_M']} M params, {row['GMACs']} GMACs, "
            f"{row['throughput_samples_per_s']} samples/s",
            file=sys.stderr)
    if rows:
        print(write_outputs(rows, args.out_dir, args.name, args.append))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(run_with_clear_errors(main))
