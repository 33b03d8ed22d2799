# ViT-tiny fine-tuned from ImageNet: timm vit_tiny_patch16_224.augreg_in21k_ft_in1k
# (ImageNet-21k pre-trained, ImageNet-1k fine-tuned) loaded into mmpretrain's
# VisionTransformer (deit-tiny, 5.5M parameters) through the timm-vit:// converter;
# 224x224 inputs (32x32 upsampled), 10 epochs SGD (ViT transfer recipe: momentum 0.9,
# no weight decay, clip 1.0, warm-up + cosine), batch 128.
# Weights: downloaded by timm from the Hugging Face hub, or from a local file with
#   VIT_TINY_CKPT=/path/vit_tiny.safetensors (or .pth) python tools/train.py ...
# Expected: no published CIFAR-10 result for this checkpoint; ~97-98% top-1 is our
# estimate (not yet measured).
# requires_download: tests/test_configs/test_all_configs.py skips this file (weights come
# from the hub); tests/test_models/test_utils/test_timm_vit_checkpoint.py checks it offline
# with a locally created checkpoint.
_base_ = [
    './_base_/datasets/cifar10_224.py',
    './_base_/schedules/cifar10_finetune_10e.py',
    './_base_/default_runtime.py',
]

requires_download = True
input_size = 224

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='VisionTransformer', arch='deit-tiny', img_size=input_size, patch_size=16,
        drop_path_rate=0.1,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='timm-vit://{{$VIT_TINY_CKPT:vit_tiny_patch16_224.augreg_in21k_ft_in1k}}')),
    neck=None,
    head=dict(type='VisionTransformerClsHead', num_classes=10, in_channels=192,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0)),
)

# the augreg checkpoints were trained on inputs normalised to [-1, 1]
data_preprocessor = dict(mean=[127.5, 127.5, 127.5], std=[127.5, 127.5, 127.5])

optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0))
