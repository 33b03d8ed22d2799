# SegNeXt MSCA in every block: 5x5 depthwise + 1xk/kx1 strip branches of 7, 11, 21,
# 1x1 channel mix, used as multiplicative attention weights.
_base_ = ['./slim_resnet_cifar100.py']
model = dict(backbone=dict(attention=dict(type='MSCA', branches=(7, 11, 21))))
