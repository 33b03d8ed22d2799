# Gated-Ghost ablation, arm "gate + ECA" (3x3 gate kernel).
_base_ = ['./slim_gatedghost_dw3_cifar100.py']
model = dict(backbone=dict(attention=dict(type='ECA')))
