# Combination: CSP stages (partial ratio 0.5) + SegNeXt MSCA in the wrapped blocks. CSP
# runs the blocks on half the channels, which cuts their cost by ~4x; the saving pays
# for MSCA's large strip-convolution context (7/11/21) inside those blocks.
_base_ = ['./slim_csp_cifar100.py']
model = dict(backbone=dict(attention=dict(type='MSCA', branches=(7, 11, 21))))
