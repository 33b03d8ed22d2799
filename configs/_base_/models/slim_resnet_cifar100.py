# SlimResNet for CIFAR-100: ResNet18 layout (2-2-2-2 basic blocks) at half width
# (32-64-128-256), CIFAR stem, no attention. Experiment configs change
# model.backbone.attention (default None: no attention; not set here so a child
# config can give a dict) / block / depths / width_mult or the neck.
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='SlimResNet',
        depths=(2, 2, 2, 2),
        widths=(64, 128, 256, 512),
        width_mult=0.5,
        block=dict(type='SlimBasicBlock'),
        drop_path_rate=0.0,
        out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=100, in_channels=256,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0)),
)
