# SE: squeeze-and-excitation in every block (mmpretrain's SELayer, ratio 16,
# squeezed width rounded to a multiple of 8).
_base_ = ['./slim_resnet_cifar100.py']
model = dict(backbone=dict(attention=dict(type='SE', ratio=16)))
