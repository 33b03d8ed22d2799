"""SE: parameter count, errors, and timm's SEModule."""
import pytest
from timm.layers import SEModule

import cifar_plugins  # noqa: F401
from cifar_plugins.models import SE
from fidelity import assert_same, randomise, transfer, x_


def n_params(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize('channels,squeezed', [(64, 8), (256, 16)])
def test_se_parameter_count(channels, squeezed):
    # two 1x1 convs with bias: C -> C/16 (rounded to a multiple of 8, at least 8) -> C
    expected = channels * squeezed + squeezed + squeezed * channels + channels
    assert n_params(SE(channels)) == expected


def test_se_refuses_weight_only_output():
    with pytest.raises(ValueError, match='re-weighted'):
        SE(64, return_weight=True)


@pytest.mark.parametrize('channels', [64, 256])
def test_se_matches_timm(channels):
    ref = randomise(SEModule(channels, rd_ratio=1 / 16, rd_divisor=8))
    ours = SE(channels)
    assert n_params(ours) == n_params(ref)
    transfer(ours, ref, [('conv1.conv.', 'fc1.'), ('conv2.conv.', 'fc2.')])
    assert_same(ours, ref, x_(2, channels, 5, 5))
