# ResNet18-MS: multi-scale fusion backbone + EMA, Mixup/CutMix, warm-up/cosine SGD.
_base_ = ['./resnet18_cifar10.py']

model = dict(
    backbone=dict(type='ResNetMS', fuse_stages=(0, 1, 2)),  # 'ResNet_CIFAR' = baseline
    head=dict(loss=dict(type='CrossEntropyLoss', loss_weight=1.0, use_soft=True)),
    train_cfg=dict(augments=[dict(type='Mixup', alpha=0.2), dict(type='CutMix', alpha=1.0)]),
)

# mmengine's EMAHook: validation, test and checkpoints use the averaged weights.
custom_hooks = [dict(type='EMAHook', momentum=1e-4, priority='ABOVE_NORMAL')]
