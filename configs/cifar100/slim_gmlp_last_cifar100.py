# Ablation of slim_gmlp: gMLP only in the last stage (4x4 tokens); stage 3 is basic blocks.
_base_ = ['./slim_gmlp_cifar100.py']
model = dict(backbone=dict(block=[
    dict(type='SlimBasicBlock'),
    dict(type='SlimBasicBlock'),
    dict(type='SlimBasicBlock'),
    dict(type='GMLPStage', input_resolution=8, ffn_ratio=6),
]))
