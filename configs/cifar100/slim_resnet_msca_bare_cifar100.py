# Ablation of slim_resnet_msca: the bare MSCA module (x * Mix(context(x))) without SegNeXt's
# attention unit (1x1 -> GELU -> MSCA -> 1x1 + shortcut), the form used before.
_base_ = ['./slim_resnet_cifar100.py']
model = dict(backbone=dict(attention=dict(type='MSCA', branches=(7, 11, 21), form='bare')))
