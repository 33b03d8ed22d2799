# HorNet blocks (gnConv recursive gated convolution + MLP, LayerNorm, layer scale) with
# HorNet's per-stage gnConv orders 2-3-4-5 and 7x7 depthwise kernels; LayerNorm +
# 2x2 stride-2 conv between stages as in HorNet.
_base_ = ['./slim_resnet_cifar100.py']
model = dict(backbone=dict(block=[
    dict(type='HorNetStageBlock', order=order, kernel_size=7, scale=1 / 3)
    for order in (2, 3, 4, 5)
]))
