# Ablation of slim_resnest: radix 4 (four kernel splits selected per channel).
_base_ = ['./slim_resnest_cifar100.py']
model = dict(backbone=dict(block=dict(radix=4)))
