# All compatible tricks of this folder at once, on the CIFAR ResNet18 baseline
# (warm-up + cosine, batch 128, linear LR scaling via --auto-scale-lr):
#   label smoothing 0.1, AutoAugment (CIFAR-10 policy) + Cutout 16x16 (the
#   combination of the AutoAugment paper), drop path 0.05, dropout 0.2 before
#   the classifier, EMA of the weights.
# Left out: RandAugment (an alternative to AutoAugment), SWA (swaps weights for
# validation like EMA; use swa.py instead of EMA), early stopping (would cut the
# cosine schedule short).
# Expected effect: the regularisers overlap, so the gain is less than the sum of
# the single ones; strong augmentation usually needs the full 200 epochs.
_base_ = ['../resnet18_cifar10.py']

model = dict(
    backbone=dict(drop_path_rate=0.05),
    head=dict(type='DropoutLinearClsHead', dropout_rate=0.2,
              loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original')),
)
data_preprocessor = dict(cutout_size=16)
train_pipeline = [
    dict(type='AutoAugment', policies='cifar10'),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
custom_hooks = [dict(type='EMAHook', momentum=1e-4, priority='ABOVE_NORMAL')]
