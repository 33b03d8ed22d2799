# FastCIFARNet on the per-sample data pipeline (VerifiedCIFAR10, one image per
# __getitem__): a real CIFAR-10 training + test in ~10 minutes on 2 CPU cores.
# The older baseline; tools/quickstart.sh trains
# configs/fast/quickstart_cifar10.py.
# FastCIFARNet (airbench-style), label smoothing, SGD-Nesterov with a one-cycle
# (linear up, linear down) LR, batch-level crop/flip on tensors, channels-last,
# mixed precision that fits the hardware (AutocastOptimWrapper, dtype='auto'):
# bfloat16 on CPUs with AVX512-BF16/AMX (~2x faster) and on Ampere+ GPUs, float16
# with loss scaling on older GPUs, float32 elsewhere (emulated bfloat16 on an AVX2
# CPU is ~11x slower). The training log names the choice and why.
_base_ = [
    './_base_/datasets/cifar10_bs128.py',
    './_base_/default_runtime.py',
]

max_epochs = 12
batch_size = 256

model = dict(
    type='ImageClassifier',
    backbone=dict(type='FastCIFARNet', widths=(32, 64, 128)),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=128,
              loss=dict(type='LabelSmoothLoss', label_smooth_val=0.2, mode='original')),
)
data_preprocessor = dict(channels_last=True)

train_dataloader = dict(batch_size=batch_size, num_workers=1)
val_dataloader = dict(batch_size=500, num_workers=1)
test_dataloader = val_dataloader

optim_wrapper = dict(
    type='AutocastOptimWrapper',
    dtype='auto',  # or force 'bfloat16' / 'float16' / 'float32'
    optimizer=dict(type='SGD', lr=0.2, momentum=0.9, nesterov=True, weight_decay=5e-4),
    # no weight decay on BN parameters and biases
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, end_factor=1.0, by_epoch=True, begin=0,
         end=1, convert_to_iter_based=True),
    dict(type='LinearLR', start_factor=1.0, end_factor=0.01, by_epoch=True, begin=1,
         end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict()
test_cfg = dict()
# --tta (tools/test.py, mmpretrain's test.py, mim test): logits averaged over the batch
# tensor, its mirror and reflect-padded 1-pixel translations (airbench94's weights);
# the views are made in the model, so the test pipeline stays as it is.
tta_model = dict(type='BatchFlipTranslateTTA', level=2, merge='logits')
tta_pipeline = [dict(type='PackInputs')]
auto_scale_lr = dict(base_batch_size=batch_size)

default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1, save_best=None))
