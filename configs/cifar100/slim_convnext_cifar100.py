# ConvNeXt blocks (7x7 depthwise conv, LayerNorm, inverted MLP x4, GELU, layer scale
# 1e-6) in every stage of the slim base; a stride or width change is ConvNeXt's
# LayerNorm + 2x2 stride-2 conv in front of the stage's first block.
_base_ = ['./slim_resnet_cifar100.py']
model = dict(backbone=dict(
    block=dict(type='ConvNeXtStageBlock', kernel_size=7, mlp_ratio=4,
               layer_scale_init_value=1e-6)))
