# gMLP on the tokens of the last two stages: stages 1-2 are basic blocks, stages 3-4
# are gMLP stages (LayerNorm + 2x2 stride-2 conv, then gMLP blocks with a spatial gating
# unit, d_ffn = 6 d). The gating unit mixes a fixed number of tokens, so each stage is
# told its input resolution for 32x32 images (16 -> 8x8 tokens, 8 -> 4x4 tokens).
_base_ = ['./slim_resnet_cifar100.py']
input_size = 32
model = dict(backbone=dict(block=[
    dict(type='SlimBasicBlock'),
    dict(type='SlimBasicBlock'),
    dict(type='GMLPStage', input_resolution=input_size // 2, ffn_ratio=6),
    dict(type='GMLPStage', input_resolution=input_size // 4, ffn_ratio=6),
]))
