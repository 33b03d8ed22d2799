# Plain18: CIFAR ResNet18 with every shortcut removed (PlainResNet_CIFAR, 11.0M
# parameters = ResNet18 minus its three 1x1 projections), 32x32 inputs. Identical
# widths, depths and recipe to resnet18_cifar10.py (200 epochs SGD + cosine).
# Purpose: the degradation study with plain34_cifar10.py. Expected: about ResNet18 or
# slightly below, and above Plain34 (He et al. 2016, Table 2, ImageNet top-1 error:
# plain-18 27.94%, plain-34 28.54%, ResNet-18 27.88%, ResNet-34 25.03%); no published
# CIFAR-10 number for this width.
_base_ = ['./resnet18_cifar10.py']

model = dict(backbone=dict(type='PlainResNet_CIFAR'))
