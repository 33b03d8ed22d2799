# Gated-Ghost ablation, arm "gate + large kernel" (no ECA).
_base_ = ['./slim_gatedghost_dw3_cifar100.py']
model = dict(backbone=dict(block=dict(dw_size=7)))
