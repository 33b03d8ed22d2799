# Gated-Ghost ablation, arm "large kernel only": Ghost-ResNet (s=2) whose cheap
# depthwise ops are 7x7 instead of 3x3 (linear ghost maps, no gate, no ECA).
_base_ = ['./slim_ghost_cifar100.py']
model = dict(backbone=dict(block=dict(dw_size=7)))
