# Ablation of slim_resnet_lsk: the bare LSK module (x * selected large-kernel context)
# without LSKNet's attention unit (1x1 -> GELU -> LSK -> 1x1 + shortcut).
_base_ = ['./slim_resnet_cifar100.py']
model = dict(backbone=dict(attention=dict(type='LSKAttention', form='bare')))
