# Plain34: CIFAR ResNet34 with every shortcut removed (PlainResNet_CIFAR, depth 34),
# 32x32 inputs, the recipe of resnet34_cifar10.py (200 epochs SGD + cosine).
# Expected: the degradation problem - a higher training loss and test error than
# Plain18 despite being deeper (He et al. 2016, Table 2 and Fig. 4 on ImageNet, Fig. 6
# on CIFAR-10); no published CIFAR-10 number for this width.
_base_ = ['./resnet34_cifar10.py']

model = dict(backbone=dict(type='PlainResNet_CIFAR'))
