# Ablation: the ResNet18-MS backbone with the plain ResNet18 recipe (no Mixup/CutMix,
# no EMA), so that resnet18_cifar10 vs this config isolates the multi-scale fusion.
_base_ = ['./resnet18_cifar10.py']

model = dict(backbone=dict(type='ResNetMS', fuse_stages=(0, 1, 2)))
