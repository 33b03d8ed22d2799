# Ablation of slim_hornet: gnConv order 2 in every stage (one gating step).
_base_ = ['./slim_resnet_cifar100.py']
model = dict(backbone=dict(block=dict(type='HorNetStageBlock', order=2, kernel_size=7,
                                      scale=1 / 3)))
