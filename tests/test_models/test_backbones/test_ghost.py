"""GhostModule and GhostBasicBlock: parameters against the paper, and timm's GhostModule."""
import math

import pytest
import torch
from timm.models.ghostnet import GhostModule as TimmGhostModule

import cifar_plugins  # noqa: F401
from cifar_plugins.models.backbones import GhostModule
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


def ghost_weights(c, n, k, s, d):
    """Conv weights of a Ghost module (paper, Sec. 3.1)."""
    m = math.ceil(n / s)
    return c * k * k * m + m * (s - 1) * d * d


@pytest.mark.parametrize('ratio', [2, 3, 4])
def test_ghost_module_parameters_vs_plain_conv(ratio):
    c = n = 64
    k, d = 3, 3
    ghost = GhostModule(c, n, kernel_size=k, ratio=ratio, dw_size=d)
    m = math.ceil(n / ratio)
    # + BN scale/shift on the m intrinsic and m (s - 1) ghost maps
    assert n_params(ghost) == ghost_weights(c, n, k, ratio, d) + 2 * m * ratio
    plain = c * k * k * n
    assert abs(ghost_weights(c, n, k, ratio, d) / plain - 1 / ratio) < 0.03
    if n % ratio == 0:  # the paper's compression ratio r_c = s c k^2 / (c k^2 + (s-1) d^2)
        assert plain / ghost_weights(c, n, k, ratio, d) == pytest.approx(
            ratio * c * k * k / (c * k * k + (ratio - 1) * d * d))
    out = ghost(torch.randn(2, c, 8, 8))
    assert out.shape == (2, n, 8, 8)


def test_ghost_module_output_width_and_intrinsic_copy():
    ghost = GhostModule(8, 32, ratio=3, dw_size=3).eval()  # ceil(32/3)=11 -> 33 maps, cut to 32
    x = torch.randn(2, 8, 6, 6)
    out = ghost(x)
    assert out.shape == (2, 32, 6, 6)
    torch.testing.assert_close(out[:, :11], ghost.primary_conv(x))


def test_ghost_basic_block_halves_a_basic_block():
    c = 64
    ghost = build_block('GhostBasicBlock', c, c, ratio=2)
    basic_convs = 2 * 9 * c * c
    ghost_convs = sum(p.numel() for n, p in ghost.named_parameters() if p.dim() == 4)
    assert ghost_convs == 2 * ghost_weights(c, c, 3, 2, 3)
    assert 0.5 < ghost_convs / basic_convs < 0.52


def test_ghost_rejects_ratio_below_two():
    with pytest.raises(ValueError, match='ratio must be an integer >= 2'):
        GhostModule(8, 8, ratio=1)


@pytest.mark.parametrize('ratio,dw_size,stride', [(2, 3, 1), (3, 3, 2), (2, 7, 1)])
def test_ghost_module_matches_timm(ratio, dw_size, stride):
    ref = randomise(TimmGhostModule(16, 30, kernel_size=3, ratio=ratio, dw_size=dw_size,
                                    stride=stride))
    ours = GhostModule(16, 30, kernel_size=3, ratio=ratio, dw_size=dw_size, stride=stride)
    assert n_params(ours) == n_params(ref)
    transfer(ours, ref, [('primary_conv.conv.', 'primary_conv.0.'),
                         ('primary_conv.bn.', 'primary_conv.1.'),
                         ('cheap_operation.conv.', 'cheap_operation.0.'),
                         ('cheap_operation.bn.', 'cheap_operation.1.')])
    assert_same(ours, ref, x_(2, 16, 8, 8))
