# Ablation of slim_csp: partial ratio 0.25 (a quarter of the channels through the
# blocks; CSPNet's gamma ablation).
_base_ = ['./slim_csp_cifar100.py']
model = dict(backbone=dict(block=dict(split_ratio=0.25)))
