"""MBConvBlock: parameters and shortcut, and timm's CoAtNet MbConvBlock."""
import pytest
import torch
import torch.nn as nn
from timm.models.maxxvit import MaxxVitConvCfg, MbConvBlock

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


def test_mbconv_parameters_and_shortcut():
    c_in, c, e = 16, 32, 4
    mid, sq = c * e, c // 4  # CoAtNet: expand the output width, SE squeeze out / 4
    block = build_block('MBConvBlock', c_in, c, stride=2, expand_ratio=e)
    pre_norm = 2 * c_in
    expand = c_in * mid + 2 * mid
    dw = 9 * mid + 2 * mid
    se = (mid * sq + sq) + (sq * mid + mid)
    project = mid * c + c  # biased 1x1 conv, no norm after it
    shortcut = c_in * c + c  # CoAtNet's Proj(Pool(x)), a biased 1x1 conv
    assert n_params(block) == pre_norm + expand + dw + se + project + shortcut
    assert isinstance(block.se.act, nn.SiLU)
    identity = build_block('MBConvBlock', c, c).eval()
    assert isinstance(identity.shortcut, nn.Identity)
    with torch.no_grad():  # a zero last conv leaves exactly the identity shortcut
        identity.conv3.weight.zero_()
        identity.conv3.bias.zero_()
        x = torch.randn(2, c, 8, 8)
        torch.testing.assert_close(identity(x), x)
    with pytest.raises(ValueError, match='stride 1 or 2'):
        build_block('MBConvBlock', c, c, stride=3)


MBCONV_RENAME = [('pre_norm.', 'pre_norm.'), ('conv1.', 'conv1_1x1.'), ('conv2.', 'conv2_kxk.'),
                 ('conv3.', 'conv3_1x1.'), ('shortcut.1.', 'shortcut.expand.')]


@pytest.mark.parametrize('c_in,c,stride', [(32, 64, 2), (64, 64, 1)])
def test_mbconv_matches_timm_coatnet_block(c_in, c, stride):
    ref = randomise(MbConvBlock(c_in, c, stride, cfg=MaxxVitConvCfg()))
    ours = MODELS.build(dict(type='MBConvBlock', in_channels=c_in, out_channels=c,
                             stride=stride, act_cfg=dict(type='GELU')))
    assert n_params(ours) == n_params(ref)
    if (c_in, c) == (32, 64):
        assert n_params(ours) == 38608  # the figure for the 32->64 entry
    transfer(ours, ref, MBCONV_RENAME)
    assert_same(ours, ref, x_(2, c_in, 8, 8))
