"""ResNeStBlock: split-attention parameters and weights, and timm's SplitAttn."""
import pytest
import torch
import torch.nn as nn
from timm.layers import SplitAttn

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


def split_attention_params(c_in, c, r, g, k=3):
    inter = max(c_in * r // 4, 32)
    conv = c_in // (g * r) * k * k * c * r + 2 * c * r  # grouped conv + BN
    fc1 = c // g * inter + inter + 2 * inter  # grouped 1x1 with bias + BN
    fc2 = inter // g * c * r + c * r
    return conv + fc1 + fc2


@pytest.mark.parametrize('radix,groups', [(1, 1), (2, 1), (2, 2), (4, 1)])
def test_resnest_block_parameter_count(radix, groups):
    c_in, c = 32, 64
    block = build_block('ResNeStBlock', c_in, c, stride=2, radix=radix, groups=groups)
    assert n_params(block.split_attention) == split_attention_params(c_in, c, radix, groups)
    conv2 = 9 * c * c + 2 * c
    shortcut = c_in * c + 2 * c
    assert n_params(block) == split_attention_params(c_in, c, radix, groups) + conv2 + shortcut


def test_resnest_split_attention_weights_sum_to_one_over_radix():
    block = build_block('ResNeStBlock', 16, 16, radix=4).eval()
    sa = block.split_attention
    feats = {}
    sa.rsoftmax.register_forward_hook(lambda m, i, o: feats.setdefault('att', o))
    sa(torch.randn(3, 16, 6, 6))
    att = feats['att'].view(3, 4, 16)  # (batch, radix, channels)
    torch.testing.assert_close(att.sum(1), torch.ones(3, 16))


def test_resnest_rejects_indivisible_channels():
    with pytest.raises(ValueError, match='radix=4, groups=2'):
        build_block('ResNeStBlock', 20, 20, radix=4, groups=2)


@pytest.mark.parametrize('radix,groups', [(1, 1), (2, 1), (4, 1), (2, 2)])
def test_resnest_split_attention_conv_matches_timm(radix, groups):
    c_in, c = 32, 64
    ref = randomise(SplitAttn(c_in, c, kernel_size=3, padding=1, groups=groups, radix=radix,
                              rd_ratio=0.25, norm_layer=nn.BatchNorm2d))
    block = MODELS.build(dict(type='ResNeStBlock', in_channels=c_in, out_channels=c,
                              radix=radix, groups=groups))
    ours = block.split_attention
    assert n_params(ours) == n_params(ref)
    transfer(ours, ref, [('norm0.', 'bn0.'), ('norm1.', 'bn1.')])
    assert_same(ours, ref, x_(2, c_in, 8, 8))
