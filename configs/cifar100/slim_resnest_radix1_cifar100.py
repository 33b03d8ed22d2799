# Ablation of slim_resnest: radix 1, where the r-softmax over splits becomes a sigmoid
# channel gate (an SE-like block with the same layout).
_base_ = ['./slim_resnest_cifar100.py']
model = dict(backbone=dict(block=dict(radix=1)))
