"""Prepare and verify CIFAR-10/100 offline (training then never downloads).

    python tools/prepare_cifar.py cifar10 --src cifar-10-python.tar.gz
    python tools/prepare_cifar.py cifar10 --src ../shared/cifar  # restore pack
    # a folder that holds cifar-10-batches-py/:
    python tools/prepare_cifar.py cifar10 --src /mnt/datasets/cifar
    python tools/prepare_cifar.py cifar10 --verify  # check data/cifar10

--data-root defaults to data/cifar10 or data/cifar100, the configs' default.
"""
import argparse
import os.path as osp

from cifar_plugins.apis.runner import run_with_clear_errors
from cifar_plugins.datasets.cifar_files import SPECS, verify
from cifar_plugins.datasets.prepare import format_report, prepare
from cifar_plugins.errors import ArgumentParser


def main():
    parser = ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('name', choices=sorted(SPECS))
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        '--src', help='archive, dataset folder or restore pack')
    source.add_argument(
        '--verify', action='store_true', help='only verify data-root')
    parser.add_argument(
        '--data-root', help='destination (default data/<name>)')
    parser.add_argument(
        '--force', action='store_true', help='replace existing data')
    args = parser.parse_args()
    data_root = args.data_root or osp.join('data', args.name)
    if args.verify:
        report = verify(data_root, args.name)
        report['root'] = osp.abspath(
            osp.join(data_root, SPECS[args.name]['folder']))
    else:
        report = prepare(args.name, args.src, data_root, force=args.force)
    print(format_report(report))


if __name__ == '__main__':
    run_with_clear_errors(main)
