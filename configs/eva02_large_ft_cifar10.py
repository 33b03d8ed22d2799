# EVA-02 Large fine-tuned on CIFAR-10: timm eva02_large_patch14_448.mim_m38m_ft_in22k_in1k
# (MIM on Merged-38M, fine-tuned on ImageNet-22k then 1k; 304M parameters, ~90% ImageNet
# top-1) through TIMMPooledBackbone (timm's own avg-pool + fc_norm features);
# 448x448 inputs (32x32 upsampled), CLIP mean/std, 10 epochs AdamW lr 1e-5 (wd 0.05,
# warm-up + cosine, clip 1.0), batch 16 per GPU with gradient checkpointing.
# Needs GPUs: train with --amp and several GPUs (bash tools/dist_train.sh CONFIG 8);
# the learning rate is for 128 images (--auto-scale-lr for other totals).
# Weights: downloaded by timm from the Hugging Face hub; for a local file add
#   --cfg-options "model.backbone.pretrained_cfg_overlay.file=/path/model.safetensors"
# Expected: >=99% top-1 (no published CIFAR-10 fine-tune of this checkpoint; large
# ImageNet-21k/JFT pre-trained ViTs reach 99.4-99.5%, Dosovitskiy et al. 2021, Table 2).
# requires_download: tests/test_configs/test_all_configs.py skips this file;
# tests/test_configs/test_cifar10_configs.py builds it on the meta device (no weights) and
# checks head width, input size and normalisation against timm's pretrained config.
_base_ = [
    './_base_/datasets/cifar10_224.py',
    './_base_/schedules/cifar10_finetune_10e.py',
    './_base_/default_runtime.py',
]

requires_download = True
input_size = 448
batch_size = 16

model = dict(
    type='ImageClassifier',
    backbone=dict(type='TIMMPooledBackbone',
                  model_name='eva02_large_patch14_448.mim_m38m_ft_in22k_in1k',
                  pretrained=True, grad_checkpointing=True, drop_path_rate=0.1),
    neck=None,
    head=dict(type='LinearClsHead', num_classes=10, in_channels=1024,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0)),
)

# OpenAI CLIP mean/std (timm pretrained_cfg of this checkpoint), in 0-255
data_preprocessor = dict(mean=[122.771, 116.746, 104.094], std=[68.501, 66.632, 70.323])

train_pipeline = [
    dict(type='RandomResizedCrop', scale=input_size, crop_ratio_range=(0.5, 1.0),
         backend='pillow', interpolation='bicubic'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='Resize', scale=(input_size, input_size), backend='pillow',
         interpolation='bicubic'),
    dict(type='PackInputs'),
]
tta_pipeline = test_pipeline
train_dataloader = dict(batch_size=batch_size, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=2 * batch_size, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=1e-5, weight_decay=0.05, betas=(0.9, 0.999)),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0))
