# SegNeXt MSCA in every block, in SegNeXt's attention unit: x + 1x1(MSCA(GELU(1x1(x)))),
# MSCA = 5x5 depthwise + 1xk/kx1 strip branches of 7, 11, 21, 1x1 channel mix, used as
# multiplicative weights. The bare module is the ablation slim_resnet_msca_bare.
_base_ = ['./slim_resnet_cifar100.py']
model = dict(backbone=dict(attention=dict(type='MSCA', branches=(7, 11, 21), form='unit')))
