"""SlimBasicBlock and SlimBottleneck: parameters, attention placement, drop path."""
import pytest
import torch
import torch.nn as nn

import cifar_plugins  # noqa: F401
from cifar_plugins.models import SlimBasicBlock, SlimBottleneck


def n_params(module):
    return sum(p.numel() for p in module.parameters())


class ZeroAttention(nn.Module):
    """Attention that removes the residual branch entirely."""

    def __init__(self, channels):
        super().__init__()

    def forward(self, x):
        return torch.zeros_like(x)


def test_bottleneck_parameter_count():
    def conv_bn(cin, cout, k):
        return cin * cout * k * k + 2 * cout

    block = SlimBottleneck(64, 128, stride=2)  # middle width 128 / 4 = 32
    expected = conv_bn(64, 32, 1) + conv_bn(32, 32, 3) + conv_bn(32, 128, 1) + conv_bn(64, 128, 1)
    assert n_params(block) == expected
    assert SlimBottleneck(64, 64, expansion=2).conv1.conv.out_channels == 32
    with pytest.raises(ValueError, match='divisible by expansion'):
        SlimBottleneck(64, 66)


@pytest.mark.parametrize('block_cls,in_ch,out_ch,stride', [
    (SlimBasicBlock, 16, 16, 1), (SlimBasicBlock, 16, 32, 2), (SlimBottleneck, 32, 64, 2)])
def test_attention_sits_after_last_norm_before_residual_add(block_cls, in_ch, out_ch, stride):
    torch.manual_seed(0)
    x = torch.randn(2, in_ch, 8, 8)
    block = block_cls(in_ch, out_ch, stride=stride, attention='eca').eval()
    seen = {}
    block.attention.register_forward_hook(lambda m, i, o: seen.update(inp=i[0], out=o))
    out = block(x)
    convs = [block.conv1, block.conv2] + ([block.conv3] if hasattr(block, 'conv3') else [])
    branch = x
    for conv in convs:
        branch = conv(branch)
    torch.testing.assert_close(seen['inp'], branch)  # last conv + norm, no activation
    torch.testing.assert_close(out, torch.relu(block.shortcut(x) + seen['out']))
    # an attention that outputs zeros leaves only the shortcut
    zeroed = block_cls(in_ch, out_ch, stride=stride, attention=ZeroAttention).eval()
    torch.testing.assert_close(zeroed(x), torch.relu(zeroed.shortcut(x)))
    assert isinstance(zeroed.shortcut, nn.Identity) == (in_ch == out_ch and stride == 1)


def test_drop_path_drops_whole_samples_in_training_only():
    torch.manual_seed(0)
    block = SlimBasicBlock(8, 8, drop_path_rate=0.5, attention=None)
    x = torch.randn(64, 8, 4, 4)
    block.train()
    out = block(x)
    dropped = [torch.allclose(out[i], torch.relu(x[i])) for i in range(64)]
    assert 10 < sum(dropped) < 54  # about half the samples keep only the shortcut
    block.eval()
    assert sum(torch.allclose(o, torch.relu(xi)) for o, xi in zip(block(x), x)) == 0
