# CoAtNet (C-C-T-T) in CoAtNet's form (as timm's MbConvBlock / TransformerBlock2d):
# pre-norm MBConv blocks (BN, expand 4x the output width, SE of out/4 with SiLU, GELU) in
# stages 1-2, transformer blocks with 2-D relative position bias (head dim 32, FFN x4) in
# stages 3-4, which run at 8x8 and 4x4 on 32x32 images: each stage's bias table is sized
# from its grid (resolution=8 -> 15x15 offsets, resolution=4 -> 7x7).
_base_ = ['./slim_resnet_cifar100.py']
mbconv = dict(type='MBConvBlock', expand_ratio=4, se_ratio=0.25, act_cfg=dict(type='GELU'),
              se_act_cfg=dict(type='SiLU'))
transformer = dict(type='RelPosTransformerBlock', head_dim=32, mlp_ratio=4)
transformer_8x8 = dict(transformer, resolution=8)
transformer_4x4 = dict(transformer, resolution=4)
model = dict(backbone=dict(block=[mbconv, mbconv, transformer_8x8, transformer_4x4]))
