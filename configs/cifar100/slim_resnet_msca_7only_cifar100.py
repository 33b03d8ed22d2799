# MSCA branch-subset ablation: only the 7-strip branch (the 11 and 21 strips are
# mostly padding on the 8x8 and 4x4 maps of the last stages).
_base_ = ['./slim_resnet_cifar100.py']
model = dict(backbone=dict(attention=dict(type='MSCA', branches=(7, ))))
