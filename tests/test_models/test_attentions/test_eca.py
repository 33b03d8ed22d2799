"""ECA: parameter count, kernel size, forward, and timm's EcaModule."""
import math

import pytest
import torch
import torch.nn.functional as F
from timm.layers import EcaModule

import cifar_plugins  # noqa: F401
from cifar_plugins.models import ECA
from fidelity import assert_same, randomise, transfer, x_


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def paper_eca_k(channels, gamma=2, b=1):
    """|log2(C)/gamma + b/gamma|_odd as in the ECA-Net code: truncate, even -> +1."""
    t = math.floor((math.log(channels, 2) + b) / gamma)
    return t + 1 - t % 2


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


@pytest.mark.parametrize('channels', [64, 256])
def test_eca_matches_timm(channels):
    ref = randomise(EcaModule(channels=channels, gamma=2, beta=1))
    ours = ECA(channels)
    assert n_params(ours) == n_params(ref) == ours.kernel_size
    transfer(ours, ref)
    assert_same(ours, ref, x_(2, channels, 5, 5))
