"""ConvNeXtStageBlock: parameters, layer scale, and timm's ConvNeXt stage."""
from functools import partial

import pytest
import torch
import torch.nn as nn
from timm.layers import LayerNorm2d
from timm.models.convnext import ConvNeXtStage

import cifar_plugins  # noqa: F401
from cifar_plugins.registry import MODELS
from fidelity import assert_same, randomise, transfer, x_

BN = dict(type='BN')
RELU = dict(type='ReLU')


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def build_block(block_type, in_channels, out_channels, stride=1, attention=None, **kwargs):
    return MODELS.build(dict(type=block_type, in_channels=in_channels, out_channels=out_channels,
                             stride=stride, attention=attention, drop_path_rate=0.,
                             norm_cfg=BN, act_cfg=RELU, **kwargs))


def test_convnext_block_parameter_count():
    c = 32
    block = build_block('ConvNeXtStageBlock', c, c)
    # dw 7x7 + bias, LN, pw C->4C, pw 4C->C (with biases), layer scale
    assert n_params(block) == (49 * c + c) + 2 * c + (4 * c * c + 4 * c) + (4 * c * c + c) + c
    assert n_params(block) == 8 * c * c + 58 * c
    down = build_block('ConvNeXtStageBlock', 16, c, stride=2)
    # ConvNeXt downsampling: LN(16) + 2x2 stride-2 conv 16->32
    assert n_params(down) - n_params(block) == 2 * 16 + 4 * 16 * c + c
    k3 = build_block('ConvNeXtStageBlock', c, c, kernel_size=3)
    assert n_params(k3) == 8 * c * c + (9 + 1 + 2 + 4 + 1 + 1) * c  # 3x3 depthwise kernel


def test_convnext_layer_scale_makes_the_block_near_identity():
    block = build_block('ConvNeXtStageBlock', 16, 16).eval()
    x = torch.randn(2, 16, 8, 8)
    torch.testing.assert_close(block(x), x, atol=1e-3, rtol=0)


@pytest.mark.parametrize('kernel_size', [7, 3])
def test_convnext_block_with_downsampling_matches_timm_stage(kernel_size):
    ref = randomise(ConvNeXtStage(32, 64, kernel_size=kernel_size, stride=2, depth=1,
                                  ls_init_value=1e-6, conv_mlp=False,
                                  norm_layer=partial(LayerNorm2d, eps=1e-6),
                                  norm_layer_cl=partial(nn.LayerNorm, eps=1e-6)))
    ours = MODELS.build(dict(type='ConvNeXtStageBlock', in_channels=32, out_channels=64,
                             stride=2, kernel_size=kernel_size))
    assert n_params(ours) == n_params(ref)
    transfer(ours, ref, [('downsample.', 'downsample.'),
                         ('block.depthwise_conv.', 'blocks.0.conv_dw.'),
                         ('block.norm.', 'blocks.0.norm.'),
                         ('block.pointwise_conv1.', 'blocks.0.mlp.fc1.'),
                         ('block.pointwise_conv2.0.', 'blocks.0.mlp.fc2.'),
                         ('block.gamma', 'blocks.0.gamma')])
    assert_same(ours, ref, x_(2, 32, 8, 8))
