# Ablation of slim_csp: partial ratio 0.75.
_base_ = ['./slim_csp_cifar100.py']
model = dict(backbone=dict(block=dict(split_ratio=0.75)))
