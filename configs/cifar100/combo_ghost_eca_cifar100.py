# Combination: Ghost-ResNet (s=2) + ECA in every block. Ghost modules halve the conv
# weights; ECA (k parameters per block) re-weights the channels, half of which are
# cheap ghost maps, so it can learn how much to trust them. Also the "ECA only" arm of
# the gated-Ghost factorial ablation (README.md).
_base_ = ['./slim_ghost_cifar100.py']
model = dict(backbone=dict(attention=dict(type='ECA')))
