"""ChannelGroupSoftmax: parameter count and softmax weights over the radix."""
import pytest
import torch

import cifar_plugins  # noqa: F401
from cifar_plugins.models import ChannelGroupSoftmax


def n_params(module):
    return sum(p.numel() for p in module.parameters())


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
