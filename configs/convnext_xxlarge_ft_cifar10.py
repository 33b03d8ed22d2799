# ConvNeXt-XXLarge fine-tuned on CIFAR-10: timm convnext_xxlarge.clip_laion2b_soup_ft_in1k
# (OpenCLIP LAION-2B image tower, weight soup, fine-tuned on ImageNet-1k; 846M
# parameters, ~88.6% ImageNet top-1) through TIMMPooledBackbone (timm's pool -> LayerNorm
# head features); 256x256 inputs (32x32 upsampled), CLIP mean/std, 10 epochs AdamW
# lr 1e-5 (wd 0.05, warm-up + cosine, clip 1.0), batch 16 per GPU with gradient
# checkpointing. Needs large GPUs and --amp (see eva_giant_ft_cifar10.py for memory).
# Weights: downloaded by timm from the Hugging Face hub; for a local file add
#   --cfg-options "model.backbone.pretrained_cfg_overlay.file=/path/model.safetensors"
# Expected: >=99% top-1 (no published CIFAR-10 fine-tune of this checkpoint; see
# Dosovitskiy et al. 2021, Table 2, for large pre-trained models: 99.4-99.5%).
# requires_download: skipped by tests/test_configs/test_all_configs.py, checked on the meta
# device by tests/test_configs/test_cifar10_configs.py.
_base_ = ['./eva02_large_ft_cifar10.py']

input_size = 256
batch_size = 16

model = dict(
    backbone=dict(model_name='convnext_xxlarge.clip_laion2b_soup_ft_in1k'),
    head=dict(in_channels=3072),
)

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
