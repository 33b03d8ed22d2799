# CIFAR-100 (fine labels), 128 images per batch. Same batch-level augmentation as
# cifar10_bs128.py. Override the location with CIFAR100_ROOT or --cfg-options.
dataset_type = 'VerifiedCIFAR100'
data_root = '{{$CIFAR100_ROOT:data/cifar100}}'
data_preprocessor = dict(
    type='CIFARDataPreprocessor',
    num_classes=100,
    # RGB mean/std of the CIFAR-100 training set, in 0-255
    mean=[129.304, 124.070, 112.434],
    std=[68.170, 65.392, 70.418],
    to_rgb=False,
    crop_padding=4,
    flip_prob=0.5,
)

train_pipeline = [dict(type='PackInputs')]
test_pipeline = [dict(type='PackInputs')]
# --tta keeps it: BatchFlipTranslateTTA makes its views from the batch
tta_pipeline = test_pipeline

train_dataloader = dict(
    batch_size=128,
    num_workers=2,
    persistent_workers=True,
    dataset=dict(type=dataset_type, data_root=data_root, split='train',
                 pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=256,
    num_workers=2,
    persistent_workers=True,
    dataset=dict(type=dataset_type, data_root=data_root, split='test',
                 pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
# ValLoss (cifar_plugins) logs the validation cross-entropy as val/cross_entropy;
# Accuracy stays first because CheckpointHook(save_best='auto') tracks the first metric.
val_evaluator = [dict(type='Accuracy', topk=(1, 5)), dict(type='ValLoss')]

test_dataloader = val_dataloader
test_evaluator = val_evaluator
