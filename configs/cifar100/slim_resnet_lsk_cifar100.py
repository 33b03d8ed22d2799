# LSKNet's large selective kernel module in every block, in LSKNet's attention unit:
# x + 1x1(LSK(GELU(1x1(x)))), LSK = 5x5 DW + 7x7 DW (dilation 3), spatial selection between
# the two kernels from pooled channel statistics. The bare module is slim_resnet_lsk_bare.
_base_ = ['./slim_resnet_cifar100.py']
model = dict(backbone=dict(attention=dict(type='LSKAttention', form='unit')))
