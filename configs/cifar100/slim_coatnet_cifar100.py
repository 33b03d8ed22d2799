# CoAtNet (C-C-T-T): MBConv blocks (expand 4, SE 0.25, GELU) in stages 1-2, transformer
# blocks with 2-D relative position bias (head dim 32, FFN x4) in stages 3-4, which run
# at 8x8 and 4x4 on 32x32 images (rel_pos_size=8 gives every offset its own bias).
_base_ = ['./slim_resnet_cifar100.py']
mbconv = dict(type='MBConvBlock', expand_ratio=4, se_ratio=0.25, act_cfg=dict(type='GELU'))
transformer = dict(type='RelPosTransformerBlock', head_dim=32, mlp_ratio=4, rel_pos_size=8)
model = dict(backbone=dict(block=[mbconv, mbconv, transformer, transformer]))
