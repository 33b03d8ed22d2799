# Baseline of the CIFAR-100 module study: SlimResNet (ResNet18 layout at half width,
# 32-64-128-256, basic blocks, no attention), batch 128, full 200-epoch schedule.
# CIFAR100_SCHEDULE=cifar100_budget switches this config and every config that
# inherits it to the short CPU budget schedule (see README.md).
_base_ = [
    '../_base_/models/slim_resnet_cifar100.py',
    '../_base_/datasets/cifar100_bs128.py',
    '../_base_/schedules/{{$CIFAR100_SCHEDULE:cifar100_bs128_cosine}}.py',
    '../_base_/default_runtime.py',
]
