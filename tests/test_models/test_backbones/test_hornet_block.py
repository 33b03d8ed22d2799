"""HorNetStageBlock: gnConv parameters, and mmpretrain's HorNet."""
import pytest
import torch.nn as nn
from mmpretrain.models.backbones import HorNet

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


def gnconv_params(c, n, k):
    dims = [c // 2**i for i in range(n)][::-1]  # [C/2^(n-1), ..., C/2, C]
    proj_in = c * 2 * c + 2 * c
    dwconv = sum(dims) * k * k + sum(dims)
    projs = sum(dims[i] * dims[i + 1] + dims[i + 1] for i in range(n - 1))
    proj_out = c * c + c
    return dims, proj_in + dwconv + projs + proj_out


@pytest.mark.parametrize('order', [1, 2, 3, 5])
def test_hornet_gnconv_channel_split_and_parameters(order):
    c, k = 32, 7
    block = build_block('HorNetStageBlock', c, c, order=order, kernel_size=k)
    dims, gn = gnconv_params(c, order, k)
    assert block.gnconv.dims == dims
    assert n_params(block.gnconv) == gn
    # + LN before gnConv and MLP, MLP C->4C->C, two layer scales
    assert n_params(block) == gn + 2 * c + 2 * c + (4 * c * c + 4 * c) + (4 * c * c + c) + 2 * c


def test_hornet_order_must_divide_channels():
    with pytest.raises(ValueError, match='divisible by 16'):
        build_block('HorNetStageBlock', 24, 24, order=5)


@pytest.mark.parametrize('stage,order', [(1, 3), (2, 4)])
def test_hornet_block_with_downsampling_matches_mmpretrain_hornet(stage, order):
    base = 16
    hornet = HorNet(arch=dict(base_dim=base, depths=[1, 1, 1, 1], orders=[2, 3, 4, 5],
                              dw_cfg=[dict(type='DW', kernel_size=7)] * 4), scale=1 / 3)
    ref = randomise(nn.Sequential(hornet.downsample_layers[stage], hornet.stages[stage]))
    c_in, c = base * 2**(stage - 1), base * 2**stage
    ours = MODELS.build(dict(type='HorNetStageBlock', in_channels=c_in, out_channels=c,
                             stride=2, order=order, kernel_size=7, scale=1 / 3))
    assert n_params(ours) == n_params(ref)
    transfer(ours, ref, [('downsample.', '0.'), ('block.gnconv.0.', '1.0.gnconv.'),
                         ('block.', '1.0.')])
    assert_same(ours, ref, x_(2, c_in, 8, 8))
