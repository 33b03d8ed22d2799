# CIFAR-10, 128 images per batch (one GPU / process). Random crop (padding 4) and
# horizontal flip run per batch on tensors in CIFARDataPreprocessor, so the
# per-image pipeline only packs the data. Override the location with the
# CIFAR10_ROOT environment variable or
#   --cfg-options train_dataloader.dataset.data_root=... (and val/test).
dataset_type = 'VerifiedCIFAR10'
data_root = '{{$CIFAR10_ROOT:data/cifar10}}'
data_preprocessor = dict(
    type='CIFARDataPreprocessor',
    num_classes=10,
    # RGB mean/std of the CIFAR-10 training set, in 0-255
    mean=[125.307, 122.961, 113.8575],
    std=[51.5865, 50.847, 51.255],
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
