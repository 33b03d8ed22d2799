# Gated-Ghost ablation, arm "large kernel + ECA" (no gate).
_base_ = ['./slim_ghost_dw7_cifar100.py']
model = dict(backbone=dict(attention=dict(type='ECA')))
