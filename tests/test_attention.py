"""The attention factory, the attention modules and the attention neck."""
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import ConfigDict

import cifar_plugins  # noqa: F401
from cifar_plugins.models import (ECA, MSCA, SE, AttentionNeck, ChannelGroupSoftmax,
                                  LSKAttention, build_attention, register_attention)
from cifar_plugins.registry import MODELS

NAMES = {'eca': ECA, 'se': SE, 'msca': MSCA, 'lsk': LSKAttention, 'group_softmax': ChannelGroupSoftmax}


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def paper_eca_k(channels, gamma=2, b=1):
    """|log2(C)/gamma + b/gamma|_odd as in the ECA-Net code: truncate, even -> +1."""
    t = math.floor((math.log(channels, 2) + b) / gamma)
    return t + 1 - t % 2


# ---------------------------------------------------------------- factory

@pytest.mark.parametrize('cfg', [None, False, ''])
def test_factory_empty_is_identity(cfg):
    assert isinstance(build_attention(cfg, 16), nn.Identity)


@pytest.mark.parametrize('name,cls', list(NAMES.items()) + [
    ('ECA', ECA), ('Msca', MSCA), ('LSKAttention', LSKAttention), ('GROUP_SOFTMAX', ChannelGroupSoftmax)])
def test_factory_builds_from_string(name, cls):
    module = build_attention(name, 32)
    assert type(module) is cls


def test_factory_builds_from_dict_configdict_and_class():
    eca = build_attention(dict(type='ECA', kernel_size=7), 64)
    assert eca.conv.kernel_size == (7, )
    cfg = ConfigDict(type='msca', branches=(7, ))
    msca = build_attention(cfg, 16)
    assert len(msca.branches) == 1 and cfg == dict(type='msca', branches=(7, ))  # not mutated
    assert type(build_attention(LSKAttention, 16)) is LSKAttention


def test_factory_unknown_name_lists_known_types():
    with pytest.raises(KeyError, match='NoSuchAttn') as err:
        build_attention('NoSuchAttn', 16)
    message = str(err.value)
    assert 'registry' in message
    for name in ('ECA', 'SE', 'MSCA', 'LSKAttention', 'ChannelGroupSoftmax', "'lsk'"):
        assert name in message


def test_factory_bad_configs_are_clear_errors():
    with pytest.raises(ValueError, match='channels'):
        build_attention(dict(type='ECA', channels=8), 16)
    with pytest.raises(KeyError, match='no "type"'):
        build_attention(dict(kernel_size=3), 16)
    with pytest.raises(TypeError, match='attention must be'):
        build_attention(3, 16)


def test_register_attention_refuses_a_taken_alias():
    with pytest.raises(KeyError, match="'eca' is already used by ECA"):
        @register_attention('eca')
        class OtherECA(nn.Module):
            pass
    assert MODELS.get('OtherECA') is None


@pytest.mark.parametrize('name', ['ECA', 'SE', 'MSCA', 'LSKAttention', 'ChannelGroupSoftmax'])
def test_registry_build_shape_and_gradients(name):
    torch.manual_seed(0)
    module = MODELS.build(dict(type=name, channels=32))
    x = torch.randn(2, 32, 7, 9, requires_grad=True)
    out = module(x)
    assert out.shape == x.shape
    (out * torch.randn_like(out)).sum().backward()
    assert x.grad.abs().sum() > 0
    for pname, p in module.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, pname


# ---------------------------------------------------------------- ECA

@pytest.mark.parametrize('channels', [16, 32, 64, 128, 256, 512, 2048])
def test_eca_adds_exactly_k_weights(channels):
    k = paper_eca_k(channels)
    eca = ECA(channels)
    assert n_params(eca) == k == eca.kernel_size


def test_eca_kernel_size_examples_and_fixed_k():
    assert ECA(64).kernel_size == 3 and ECA(256).kernel_size == 5 and ECA(2048).kernel_size == 7
    assert ECA(64, gamma=1, b=0).kernel_size == 7  # log2(64) = 6 -> 7
    fixed = ECA(256, kernel_size=3)
    assert n_params(fixed) == 3
    with pytest.raises(ValueError, match='odd'):
        ECA(64, kernel_size=4)


def test_eca_is_sigmoid_of_a_channel_conv_over_pooled_features():
    eca = ECA(64)
    x = torch.randn(3, 64, 5, 5)
    pooled = x.mean((2, 3)).unsqueeze(1)  # (N, 1, C)
    weights = torch.sigmoid(F.conv1d(pooled, eca.conv.weight, padding=1)).squeeze(1)
    torch.testing.assert_close(eca(x), x * weights[:, :, None, None])


# ---------------------------------------------------------------- SE

@pytest.mark.parametrize('channels,squeezed', [(64, 8), (256, 16)])
def test_se_parameter_count(channels, squeezed):
    # two 1x1 convs with bias: C -> C/16 (rounded to a multiple of 8, at least 8) -> C
    expected = channels * squeezed + squeezed + squeezed * channels + channels
    assert n_params(SE(channels)) == expected


def test_se_refuses_weight_only_output():
    with pytest.raises(ValueError, match='re-weighted'):
        SE(64, return_weight=True)


# ---------------------------------------------------------------- MSCA

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


# ---------------------------------------------------------------- LSK

@pytest.mark.parametrize('channels', [16, 64])
def test_lsk_parameter_count(channels):
    c, half = channels, channels // 2
    depthwise = (5 * 5 * c + c) + (7 * 7 * c + c)
    reductions = 2 * (c * half + half)
    selection = 2 * 2 * 7 * 7 + 2                            # 7x7 conv, 2 stats -> 2 maps
    projection = half * c + c
    core = depthwise + reductions + selection + projection
    assert n_params(LSKAttention(c, form='bare')) == core
    assert n_params(LSKAttention(c)) == core + 2 * (c * c + c)  # the unit's two 1x1 convs


def test_lsk_selection_weights_the_two_kernels():
    torch.manual_seed(0)
    lsk = LSKAttention(8, form='bare')
    nn.init.zeros_(lsk.select.weight)
    nn.init.zeros_(lsk.select.bias)  # both selection maps = sigmoid(0) = 0.5
    x = torch.randn(2, 8, 9, 9)
    local = lsk.local(x)
    mixed = 0.5 * lsk.reduce_local(local) + 0.5 * lsk.reduce_dilated(lsk.dilated(local))
    torch.testing.assert_close(lsk(x), x * lsk.proj(mixed))
    assert lsk.dilated.dilation == (3, 3) and lsk.dilated.kernel_size == (7, 7)
    with pytest.raises(ValueError, match='even'):
        LSKAttention(7)


# ---------------------------------------------------------------- channel-group softmax

@pytest.mark.parametrize('channels,radix,groups', [(64, 2, 1), (128, 4, 2)])
def test_group_softmax_parameter_count(channels, radix, groups):
    split = channels // radix
    inter = max(channels // 4, 32)
    fc1 = split // groups * inter + inter
    norm = 2 * inter
    fc2 = inter // groups * channels + channels
    module = ChannelGroupSoftmax(channels, radix=radix, groups=groups)
    assert n_params(module) == fc1 + norm + fc2


@pytest.mark.parametrize('radix,groups', [(2, 1), (4, 2)])
def test_group_softmax_weights_are_a_softmax_over_radix(radix, groups):
    torch.manual_seed(0)
    module = ChannelGroupSoftmax(64, radix=radix, groups=groups)
    x = torch.rand(3, 64, 4, 4) + 0.5
    weights = (module(x) / x).view(3, radix, 64 // radix, 4, 4)
    assert (weights > 0).all()
    torch.testing.assert_close(weights.sum(1), torch.ones(3, 64 // radix, 4, 4))
    torch.testing.assert_close(weights, weights[..., :1, :1].expand_as(weights))  # per channel


def test_group_softmax_radix_one_is_a_sigmoid_gate_and_checks_divisibility():
    module = ChannelGroupSoftmax(32, radix=1)
    x = torch.rand(2, 32, 3, 3) + 0.5
    weights = module(x) / x
    assert ((weights > 0) & (weights < 1)).all()
    with pytest.raises(ValueError, match='divisible'):
        ChannelGroupSoftmax(30, radix=4)


# ---------------------------------------------------------------- neck

def test_attention_neck_tensor_and_tuple_inputs():
    torch.manual_seed(0)
    neck = MODELS.build(dict(type='AttentionNeck', in_channels=64, attention=dict(type='ECA')))
    assert n_params(neck) == 3  # one ECA, k = 3 for 64 channels
    early, last = torch.randn(2, 32, 8, 8), torch.randn(2, 64, 4, 4)
    out = neck(last)
    assert out.shape == (2, 64)
    torch.testing.assert_close(out, neck.attention(last).mean((2, 3)))
    outs = neck((early, last))
    assert isinstance(outs, tuple) and [o.shape for o in outs] == [(2, 32), (2, 64)]
    torch.testing.assert_close(outs[0], early.mean((2, 3)))
    torch.testing.assert_close(outs[1], out)


def test_attention_neck_without_attention_is_gap_and_checks_width():
    gap = MODELS.build(dict(type='GlobalAveragePooling'))
    neck = AttentionNeck(16, attention=None)
    x = torch.randn(2, 16, 4, 4)
    torch.testing.assert_close(neck(x), gap(x))
    with pytest.raises(ValueError, match='in_channels=16'):
        neck(torch.randn(2, 8, 4, 4))
    with pytest.raises(TypeError, match='tensor or a non-empty tuple'):
        neck([x])
