# ECA-Net: efficient channel attention in every block, adaptive kernel size
# k = |log2(C)/2 + 1/2|_odd (k = 3, 3, 5, 5 for the 32-64-128-256 stages).
_base_ = ['./slim_resnet_cifar100.py']
model = dict(backbone=dict(attention=dict(type='ECA', gamma=2, b=1)))
