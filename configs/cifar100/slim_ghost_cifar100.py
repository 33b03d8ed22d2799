# Ghost-ResNet (GhostNet paper, CIFAR experiments): both 3x3 convs of every basic block
# are Ghost modules with ratio s=2 (half the maps from a 3x3 conv, half from a cheap
# 3x3 depthwise conv), about half the block's weights.
_base_ = ['./slim_resnet_cifar100.py']
model = dict(backbone=dict(block=dict(type='GhostBasicBlock', ratio=2, dw_size=3)))
