# ResNeSt basic blocks: the first 3x3 conv of every block is a split-attention conv
# (radix 2, cardinality 1, as ResNeSt-50), stride by 3x3 average pooling after it and
# ResNet-D (avg-pool + 1x1) projection shortcuts.
_base_ = ['./slim_resnet_cifar100.py']
model = dict(backbone=dict(
    block=dict(type='ResNeStBlock', radix=2, groups=1, reduction_factor=4,
               avg_down_stride=True)))
