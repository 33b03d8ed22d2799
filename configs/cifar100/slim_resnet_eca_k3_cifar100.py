# ECA ablation: fixed kernel size k = 3 in every stage instead of the adaptive k
# (differs from slim_resnet_eca_cifar100.py in stages 3-4, where adaptive k = 5).
_base_ = ['./slim_resnet_cifar100.py']
model = dict(backbone=dict(attention=dict(type='ECA', kernel_size=3)))
