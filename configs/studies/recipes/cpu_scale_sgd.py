# The CPU-scale recipe of the CNN studies: every arm of a study file that names it
# trains with exactly these settings (tools/study.py merges this file into each arm's
# config; `_delete_=True` replaces a key of the arm's config wholesale).
#   fast data path: whole uint8 batches from memory (InMemoryBatchDataset), crop/flip
#   per batch in the data preprocessor, channels-last, mixed precision where the CPU
#   runs it natively (dtype='auto'), heap reuse (HeapReuseHook, default runtime);
#   SGD-Nesterov one-cycle (linear warm-up, then linear decay to 0), label smoothing,
#   validation every epoch (curves), mirror + translate TTA for the final test.
# The arms keep their model, their batch augments (Mixup/CutMix) and custom hooks (EMA).

# ---------------------------------------------------------------- hyper-parameters
epochs = 16
batch_size = 256
lr = 0.2
weight_decay = 5e-4
momentum = 0.9
warmup_epochs = 2
label_smoothing = 0.1
# ----------------------------------------------------------------------------------

_cifar = dict(type='VerifiedCIFAR10', data_root='{{$CIFAR10_ROOT:data/cifar10}}',
              pipeline=[])
train_dataloader = dict(
    _delete_=True, batch_size=batch_size, num_workers=0, persistent_workers=False,
    collate_fn=dict(type='batch_passthrough'),
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='InMemoryBatchDataset', dataset=dict(_cifar, split='train')))
val_dataloader = dict(
    _delete_=True, batch_size=1000, num_workers=0, persistent_workers=False,
    collate_fn=dict(type='batch_passthrough'),
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='InMemoryBatchDataset', dataset=dict(_cifar, split='test')))
test_dataloader = val_dataloader
data_preprocessor = dict(channels_last=True, crop_padding=4, flip_prob=0.5)

model = dict(head=dict(loss=dict(_delete_=True, type='LabelSmoothLoss',
                                 label_smooth_val=label_smoothing, mode='original')))
optim_wrapper = dict(
    _delete_=True, type='AutocastOptimWrapper', dtype='auto',
    optimizer=dict(type='SGD', lr=lr, momentum=momentum, nesterov=True,
                   weight_decay=weight_decay))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, end_factor=1.0, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='LinearLR', start_factor=1.0, end_factor=0.0, by_epoch=True,
         begin=warmup_epochs, end=epochs, convert_to_iter_based=True),
]
train_cfg = dict(_delete_=True, by_epoch=True, max_epochs=epochs, val_interval=1)
auto_scale_lr = dict(base_batch_size=batch_size)
default_hooks = dict(logger=dict(interval=20),
                     checkpoint=dict(interval=1, max_keep_ckpts=1, save_best=None))
tta_model = dict(_delete_=True, type='BatchFlipTranslateTTA', level=2)
