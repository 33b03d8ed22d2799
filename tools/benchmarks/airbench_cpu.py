"""Run the published airbench94 (airbench 0.1.8, CUDA + fp16 as shipped) on the
CPU.

    pip install airbench==0.1.8
    python tools/benchmarks/airbench_cpu.py --data-root data/cifar10 \
        [--epochs 9.9] [--widths 64 256 256] [--runs 1]

The shim only changes where tensors live and their precision; the recipe, the
network and airbench's own timing and printing are untouched:

* ``Tensor/Module.cuda()`` return the object itself, ``.half()`` gives float32
  (CPUs have no fast fp16 convolutions), ``torch.load`` maps to the CPU;
* ``torch.cuda.Event`` is a wall-clock stand-in and ``torch.cuda.synchronize``
  a no-op (CPU ops are synchronous);
* airbench's data files (``cifar10/train.pt``, ``test.pt``) are written once
  from the project's verified CIFAR-10 folder, so nothing is downloaded.

glibc's heap reuse (:func:`cifar_plugins.engine.hooks.keep_freed_heap`, what
our configs' ``HeapReuseHook`` applies) is on, so both recipes run on the same
allocator; ``--no-heap-reuse`` reproduces logs measured before it existed.

airbench prints its own table; its ``total_time_seconds`` counts whitening
init, training and the final TTA evaluation, but not the per-epoch
evaluations (which this shim keeps, as airbench does in verbose mode).
The logits of airbench's final TTA evaluation are kept, and after each run
their accuracy is printed on the exact and the JPEG-decoded parts of the
restored test set, as ``tools/benchmarks/exact_subset_accuracy.py`` does for
our configs.
"""
import argparse
import os
import os.path as osp
import sys
import time

import torch

from cifar_plugins.analysis.complexity import cpu_name
from cifar_plugins.analysis.predictions import (RESTORED_TEST_MASK,
                                                exact_part_report)
from cifar_plugins.engine.hooks import keep_freed_heap


class WallClockEvent:
    """``torch.cuda.Event(enable_timing=True)`` for synchronous CPU code."""

    def __init__(self, *args, **kwargs):
        self.time = None

    def record(self, *args):
        self.time = time.perf_counter()

    def elapsed_time(self, end):
        return 1000.0 * (end.time - self.time)


def install_cpu_shim():
    torch.Tensor.cuda = lambda self, *args, **kwargs: self
    torch.nn.Module.cuda = lambda self, *args, **kwargs: self
    torch.Tensor.half = lambda self, *args, **kwargs: self.float()
    torch.nn.Module.half = lambda self: self.float()
    torch.cuda.Event = WallClockEvent
    torch.cuda.synchronize = lambda *args, **kwargs: None
    real_load = torch.load

    def load_on_cpu(f, map_location=None, **kwargs):
        return real_load(f, map_location='cpu', **kwargs)

    torch.load = load_on_cpu


def write_airbench_data(data_root, folder='cifar10'):
    """airbench's ``train.pt`` / ``test.pt`` from the verified CIFAR-10
    files."""
    from cifar_plugins.datasets import load_split
    from cifar_plugins.datasets.cifar_files import load_classes
    os.makedirs(folder, exist_ok=True)
    classes = list(load_classes(data_root, 'cifar10'))
    for split, name in (('train', 'train.pt'), ('test', 'test.pt')):
        path = osp.join(folder, name)
        images, labels = load_split(data_root, 'cifar10', split)
        # a file left from another data root would silently misalign the
        # exact-image mask
        if osp.exists(path) and torch.equal(
                torch.load(path, weights_only=True)['labels'],
                torch.as_tensor(labels)):
            continue
        torch.save(
            {
                'images': torch.as_tensor(images),
                'labels': torch.as_tensor(labels),
                'classes': classes
            }, path)


def record_final_tta_logits(utils):
    """Keep the logits of airbench's own final TTA evaluation
    (``evaluate(tta_level>0)``)."""
    record = {}
    real_evaluate = utils.evaluate

    def evaluate(model, loader, tta_level=0):
        if tta_level == 0:
            return real_evaluate(model, loader, tta_level)
        logits = utils.infer(model, loader, tta_level)
        record.update(logits=logits, labels=loader.labels)
        return (logits.argmax(1) == loader.labels).float().mean().item()

    utils.evaluate = evaluate
    return record


def exact_subset_report(record, lossless_file):
    """TTA accuracy on the exact / JPEG-decoded / all restored test images."""
    import numpy as np
    correct = (record['logits'].argmax(1) == record['labels']).numpy()
    exact = np.load(lossless_file)['test_lossless'].astype(bool)
    return f'with TTA: {exact_part_report(correct, exact)}'


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument(
        '--data-root', default=os.environ.get('CIFAR10_ROOT', 'data/cifar10'))
    parser.add_argument(
        '--work-dir',
        default='work_dirs/airbench_cpu',
        help="airbench reads ./cifar10/*.pt: run from here")
    parser.add_argument(
        '--epochs',
        type=float,
        default=None,
        help='training epochs (airbench94: 9.9)')
    parser.add_argument(
        '--widths',
        type=int,
        nargs=3,
        default=None,
        help='block widths (airbench94: 64 256 256)')
    parser.add_argument('--runs', type=int, default=1)
    parser.add_argument(
        '--lossless',
        default=RESTORED_TEST_MASK,
        help='labels.npz marking the exact test images (skipped if absent)')
    parser.add_argument(
        '--no-heap-reuse',
        action='store_true',
        help="glibc malloc as it is (our configs' HeapReuseHook off)")
    args = parser.parse_args()
    try:
        import airbench
    except ImportError:
        sys.exit(
            'ERROR: airbench is not installed; pip install airbench==0.1.8')
    data_root = osp.abspath(args.data_root)
    lossless = osp.abspath(args.lossless)
    os.makedirs(args.work_dir, exist_ok=True)
    os.chdir(args.work_dir)
    write_airbench_data(data_root)
    install_cpu_shim()
    heap = 'off' if args.no_heap_reuse else (
        'on' if keep_freed_heap() else 'n/a')
    from airbench import lib_airbench94, utils
    final_tta = record_final_tta_logits(utils)
    kwargs = {}
    if args.epochs is not None:
        kwargs['epochs'] = args.epochs
    if args.widths is not None:
        widths = dict(zip(('block1', 'block2', 'block3'), args.widths))
        kwargs['make_net'] = lambda: lib_airbench94.make_net94(widths=widths)
    print(
        f'airbench {getattr(airbench, "__version__", "0.1.8")} '
        f'airbench94 on CPU, float32, {torch.get_num_threads()} '
        f'threads, {kwargs or "published settings"}, heap reuse '
        f'{heap}, CPU: {cpu_name()},',
        flush=True)
    for run in range(args.runs):
        start = time.perf_counter()
        final_tta.clear()
        lib_airbench94.train94(run=run, **kwargs)
        print(
            f'run {run}: wall {time.perf_counter() - start:.0f} '
            's (incl. per-epoch evals)',
            flush=True)
        if final_tta and osp.exists(lossless):
            print(
                f'run {run}: {exact_subset_report(final_tta, lossless)}',
                flush=True)


if __name__ == '__main__':
    main()
