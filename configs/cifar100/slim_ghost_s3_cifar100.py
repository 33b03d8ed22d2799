# Ablation of slim_ghost: Ghost ratio s=3 (a third of the maps from the primary conv,
# about a third of the weights).
_base_ = ['./slim_ghost_cifar100.py']
model = dict(backbone=dict(block=dict(ratio=3)))
