# Baseline: CIFAR ResNet18, SGD + warm-up/cosine, 200 epochs, batch 128.
_base_ = [
    './_base_/models/resnet18_cifar.py',
    './_base_/datasets/cifar10_bs128.py',
    './_base_/schedules/cifar10_bs128_cosine.py',
    './_base_/default_runtime.py',
]
