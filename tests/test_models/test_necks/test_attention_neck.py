"""AttentionNeck: attention, then global average pooling."""
import pytest
import torch

import cifar_plugins  # noqa: F401
from cifar_plugins.models import AttentionNeck
from cifar_plugins.registry import MODELS


def n_params(module):
    return sum(p.numel() for p in module.parameters())


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
