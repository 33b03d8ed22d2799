# ViT-tiny from scratch: mmpretrain VisionTransformer (deit-tiny: 192 dims, 12 layers,
# 3 heads; 5.4M parameters) sized for 32x32 inputs with 4x4 patches (64 tokens + class
# token). Regularisation a ViT needs on 50k images: RandAugment (2 ops, m9, std 0.5),
# Mixup 0.8 / CutMix 1.0, label smoothing 0.1, stochastic depth 0.1, crop + flip;
# AdamW lr 5.5e-4, wd 0.06, 10-epoch warm-up + cosine, 200 epochs, batch 128 (CCT's
# CIFAR-10 recipe, see _base_/schedules/cifar10_bs128_adamw_cosine.py).
# Expected: ~91% top-1 (ViT-Lite-7/4, a 7-layer 256-dim patch-4 ViT with this recipe:
# 91.38% in 200 epochs, github.com/SHI-Labs/Compact-Transformers README).
_base_ = [
    './_base_/datasets/cifar10_bs128.py',
    './_base_/schedules/cifar10_bs128_adamw_cosine.py',
    './_base_/default_runtime.py',
]

model = dict(
    type='ImageClassifier',
    backbone=dict(type='VisionTransformer', arch='deit-tiny', img_size=32, patch_size=4,
                  drop_path_rate=0.1),
    neck=None,
    head=dict(type='VisionTransformerClsHead', num_classes=10, in_channels=192,
              loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original')),
    init_cfg=[
        dict(type='TruncNormal', layer='Linear', std=.02),
        dict(type='Constant', layer='LayerNorm', val=1., bias=0.),
    ],
    train_cfg=dict(augments=[dict(type='Mixup', alpha=0.8), dict(type='CutMix', alpha=1.0)]),
)

# RandAugment runs per image; crop (padding 4) and flip stay batch-level in the
# preprocessor. pad_val is the CIFAR-10 mean colour (RGB).
train_pipeline = [
    dict(type='RandAugment', policies='timm_increasing', num_policies=2, total_level=10,
         magnitude_level=9, magnitude_std=0.5,
         hparams=dict(pad_val=[125, 123, 114], interpolation='bicubic')),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
