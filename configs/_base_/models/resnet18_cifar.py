# CIFAR ResNet18 (3x3 stride-1 stem, no max-pool), mmpretrain's ResNet_CIFAR.
model = dict(
    type='ImageClassifier',
    backbone=dict(type='ResNet_CIFAR', depth=18, num_stages=4, out_indices=(3, ),
                  style='pytorch'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=512,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0)),
)
