# Gated-Ghost ablation, arm "gate only": ghost maps = intrinsic * sigmoid(BN(dw3x3(intrinsic))),
# same parameters as slim_ghost (s=2, 3x3), no ECA.
_base_ = ['./slim_resnet_cifar100.py']
model = dict(backbone=dict(block=dict(type='GatedGhostBlock', ratio=2, dw_size=3)))
