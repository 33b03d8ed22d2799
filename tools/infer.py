"""Classify images with a trained checkpoint and print the top-k classes.

    python tools/infer.py cat.jpg ship.png \
        --config configs/resnet18_cifar10.py \
        --checkpoint work_dirs/resnet18_cifar10/epoch_200.pth \
        [--topk 3] [--json]

PNG/JPEG files of any size are centre-cropped to a square and resized to the
model's input size (32x32 for CIFAR); --stretch resizes without cropping.
--config may be omitted: mmengine stores the config in the checkpoint.
"""
import contextlib
import json
import sys

from cifar_plugins.apis import inference_model, init_model
from cifar_plugins.apis.inference import load_rgb
from cifar_plugins.apis.runner import run_with_clear_errors
from cifar_plugins.errors import ArgumentParser


def parse_args():
    parser = ArgumentParser(description='Classify images with a checkpoint')
    parser.add_argument(
        'images', nargs='+', metavar='IMAGE', help='image files')
    parser.add_argument('--checkpoint', required=True, help='checkpoint file')
    parser.add_argument(
        '--config', help='config file (default: the one in the checkpoint)')
    parser.add_argument(
        '--topk', type=int, default=5, help='classes to print (default 5)')
    parser.add_argument(
        '--device', help='cpu, cuda... (default: cuda if available)')
    parser.add_argument(
        '--stretch',
        action='store_true',
        help='resize non-square images without centre-cropping')
    parser.add_argument(
        '--json', action='store_true', help='print JSON lines instead')
    args = parser.parse_args()
    if args.topk < 1:
        parser.error('--topk must be at least 1')
    return args


def main():
    args = parse_args()
    # read every image first: a missing or non-image file fails before the
    # model loads
    images = [load_rgb(image) for image in args.images]
    # mmengine prints "Loads checkpoint by ..." on stdout; keep stdout for the
    # results
    with contextlib.redirect_stdout(sys.stderr):
        model = init_model(args.config, args.checkpoint, args.device)
    results = inference_model(
        model, images, topk=args.topk, keep_ratio=not args.stretch)
    for image, result in zip(args.images, results):
        names = result.get('topk_classes',
                           [str(i) for i in result['topk_labels']])
        if args.json:
            print(
                json.dumps(
                    dict(
                        image=image,
                        labels=result['topk_labels'],
                        classes=names,
                        scores=result['topk_scores'])))
            continue
        print(image)
        width = max(len(n) for n in names)
        for rank, (name,
                   score) in enumerate(zip(names, result['topk_scores']), 1):
            print(f'  {rank}. {name:<{width}}  {score:.4f}')


if __name__ == '__main__':
    run_with_clear_errors(main)
