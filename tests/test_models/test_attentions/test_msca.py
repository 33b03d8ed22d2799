"""MSCA (SegNeXt): parameter counts and the paper's forward."""
import pytest
import torch
import torch.nn.functional as F

import cifar_plugins  # noqa: F401
from cifar_plugins.models import MSCA
from fidelity import conv, randomise, x_


def n_params(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize('channels', [32, 64])
@pytest.mark.parametrize('branches', [(7, 11, 21), (7, ), ()])
def test_msca_parameter_count_per_branch(channels, branches):
    c = channels
    local = 5 * 5 * c + c                                    # 5x5 depthwise + bias
    strips = sum(2 * (k * c + c) for k in branches)          # 1xk and kx1 depthwise + bias
    mix = c * c + c                                          # 1x1 conv + bias
    assert n_params(MSCA(c, branches=branches, form='bare')) == local + strips + mix
    unit = 2 * (c * c + c)                                   # proj_1, proj_2 of the unit
    assert n_params(MSCA(c, branches=branches)) == local + strips + mix + unit


def test_msca_is_input_times_mixed_context():
    torch.manual_seed(0)
    msca = MSCA(8, branches=(7, ), form='bare')
    x = torch.randn(2, 8, 6, 6)
    local = msca.local(x)
    strip = msca.branches[0][1](msca.branches[0][0](local))
    torch.testing.assert_close(msca(x), x * msca.channel_mix(local + strip))
    with pytest.raises(ValueError, match='odd'):
        MSCA(8, branches=(6, ))


@pytest.mark.parametrize('channels,branches', [(8, (7, 11, 21)), (16, (7, )), (8, ())])
def test_msca_unit_parameters_and_paper_forward(channels, branches):
    c = channels
    unit, bare = MSCA(c, branches=branches), MSCA(c, branches=branches, form='bare')
    core = 26 * c + sum(2 * c * (k + 1) for k in branches) + c * c + c
    assert n_params(bare) == core
    assert n_params(unit) == core + 2 * (c * c + c)  # proj_1, proj_2
    randomise(unit)
    x = x_(2, c, 9, 9)
    # SegNeXt: Attention(x) = x + proj_2(MSCA(GELU(proj_1(x)))),
    # MSCA(z) = z * conv1x1(DW5(z) + sum_k DW_kx1(DW_1xk(DW5(z))))
    z = F.gelu(conv(x, unit.proj_in))
    local = conv(z, unit.local)
    context = local + sum(conv(conv(local, h), v) for h, v in unit.branches)
    expected = x + conv(z * conv(context, unit.channel_mix), unit.proj_out)
    with torch.no_grad():
        torch.testing.assert_close(unit(x), expected, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match='form'):
        MSCA(c, form='wrapped')


def test_bare_msca_is_the_module_alone():
    c = 8
    bare = randomise(MSCA(c, branches=(7, ), form='bare'))
    x = x_(2, c, 9, 9)
    local = conv(x, bare.local)
    (h, v), = bare.branches
    expected = x * conv(local + conv(conv(local, h), v), bare.channel_mix)
    with torch.no_grad():
        torch.testing.assert_close(bare(x), expected, atol=1e-5, rtol=1e-5)
