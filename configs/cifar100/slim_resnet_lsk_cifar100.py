# LSKNet's large selective kernel module in every block: 5x5 DW + 7x7 DW (dilation 3),
# spatial selection between the two kernels from pooled channel statistics.
_base_ = ['./slim_resnet_cifar100.py']
model = dict(backbone=dict(attention=dict(type='LSKAttention')))
