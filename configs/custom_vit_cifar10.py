# ConvStemViT (cifar_plugins): a compact ViT designed for 32x32 images - 3x3 conv stem
# (strides 1-2-2) to 8x8 tokens, 7 layers x 256 dims x 4 heads, MLP ratio 2, sequence
# pooling instead of a class token (4.1M parameters). 32x32 inputs; the recipe of
# vit_tiny_cifar10.py (RandAugment, Mixup/CutMix, label smoothing, stochastic depth,
# AdamW + warm-up/cosine, 200 epochs, batch 128), so the two ViT arms differ only in
# the backbone. Expected: ~93.5-94% top-1 (CCT-7/3x2, the closest published design:
# 93.83% in 200 epochs, github.com/SHI-Labs/Compact-Transformers README).
_base_ = ['./vit_tiny_cifar10.py']

model = dict(
    backbone=dict(_delete_=True, type='ConvStemViT', img_size=32, stem_channels=(64, 128, 256),
                  stem_strides=(1, 2, 2), embed_dims=256, num_layers=7, num_heads=4,
                  mlp_ratio=2.0, drop_path_rate=0.1),
    head=dict(type='LinearClsHead', in_channels=256),
)
