"""Test accuracy on the exact and the JPEG-decoded parts of the restored
CIFAR-10 test set.

    python tools/benchmarks/exact_subset_accuracy.py CONFIG CHECKPOINT \
        [--tta] [--lossless ../shared/cifar/cifar10/labels.npz] [--exact-only]

The restored test set (``../shared/cifar``) holds images 0-999 exactly and
1000-9999 decoded from a quality-75 JPEG copy; ``labels.npz:test_lossless``
marks the exact ones. A model trained on the (exact) training images can lose
accuracy on the JPEG part, so a figure on the whole restored set is a lower
bound of the official one; this prints both parts side by side.
``--exact-only`` evaluates the exact images alone (a tenth of the time), e.g.
next to the whole-set figure ``mim test`` already printed.
"""
import argparse
import os
import os.path as osp

import numpy as np
from mmengine.config import Config

import cifar_plugins  # noqa: F401
from cifar_plugins.analysis.checkpoint_eval import predict_test_labels
from cifar_plugins.analysis.predictions import (RESTORED_TEST_MASK,
                                                exact_part_report)
from cifar_plugins.datasets import load_split


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument(
        '--data-root', default=os.environ.get('CIFAR10_ROOT', 'data/cifar10'))
    parser.add_argument('--lossless', default=RESTORED_TEST_MASK)
    parser.add_argument(
        '--tta', action='store_true', help="use the config's tta_model")
    parser.add_argument(
        '--exact-only',
        action='store_true',
        help='evaluate only the exact images')
    args = parser.parse_args()
    exact = np.load(args.lossless)['test_lossless'].astype(bool)
    images, labels = load_split(args.data_root, 'cifar10', 'test')
    # keep the exact images; the mask over them is then all True
    if args.exact_only:
        images, labels, exact = images[exact], labels[exact], exact[exact]
    preds = predict_test_labels(
        Config.fromfile(args.config), args.checkpoint, images, tta=args.tta)
    correct = preds == labels
    report = exact_part_report(correct, exact, whole=not args.exact_only)
    print(f'{osp.basename(args.config)} '
          f'{"with" if args.tta else "without"} TTA: {report}')


if __name__ == '__main__':
    main()
