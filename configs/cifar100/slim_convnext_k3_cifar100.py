# Ablation of slim_convnext: 3x3 instead of 7x7 depthwise kernels. On CIFAR the last
# two stages are 8x8 and 4x4, where a 7x7 kernel mostly covers padding.
_base_ = ['./slim_convnext_cifar100.py']
model = dict(backbone=dict(block=dict(kernel_size=3)))
