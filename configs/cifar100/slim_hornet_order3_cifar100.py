# Ablation of slim_hornet: gnConv order 3 in every stage (two gating steps).
_base_ = ['./slim_hornet_order2_cifar100.py']
model = dict(backbone=dict(block=dict(order=3)))
