"""PlainResNet_CIFAR: a CIFAR ResNet without shortcuts."""
import pytest
import torch
from mmpretrain.models.backbones import ResNet_CIFAR

import cifar_plugins  # noqa: F401
from cifar_plugins.models import PlainResNet_CIFAR
from cifar_plugins.registry import MODELS

WIDTHS = (64, 128, 256, 512)


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def plain_resnet_params(blocks, widths=WIDTHS, stem=64):
    """3x3 conv stem + BN, then per block two 3x3 convs and two BNs, no shortcut."""
    total = 3 * stem * 9 + 2 * stem
    cin = stem
    for n, w in zip(blocks, widths):
        for _ in range(n):
            total += cin * w * 9 + w * w * 9 + 4 * w
            cin = w
    return total


@pytest.mark.parametrize('depth,blocks', [(18, (2, 2, 2, 2)), (34, (3, 4, 6, 3))])
def test_plain_resnet_params_and_shape(depth, blocks):
    net = MODELS.build(dict(type='PlainResNet_CIFAR', depth=depth))
    assert n_params(net) == plain_resnet_params(blocks)
    # the ResNet of the same depth differs exactly by its three 1x1 projection shortcuts
    projections = sum(cin * cout + 2 * cout for cin, cout in zip(WIDTHS, WIDTHS[1:]))
    assert n_params(ResNet_CIFAR(depth=depth)) - n_params(net) == projections
    out = net(torch.randn(2, 3, 32, 32))
    assert len(out) == 1 and out[0].shape == (2, 512, 4, 4)


def zero_last_bns(net):
    for layer_name in net.res_layers:
        for block in getattr(net, layer_name):
            torch.nn.init.zeros_(block.norm2.weight)
            torch.nn.init.zeros_(block.norm2.bias)


def test_plain_resnet_has_no_shortcut_path():
    kw = dict(depth=18, stem_channels=8, base_channels=8)
    plain, residual = PlainResNet_CIFAR(**kw), ResNet_CIFAR(**kw)
    assert not [n for n, _ in plain.named_modules() if 'downsample' in n]
    for net in (plain, residual):
        net.init_weights()
        zero_last_bns(net)
        net.eval()
    x1, x2 = torch.randn(2, 3, 32, 32), torch.randn(2, 3, 32, 32)
    # with every block's residual branch silenced only the shortcuts carry the input
    assert torch.count_nonzero(plain(x1)[0]) == 0 and torch.count_nonzero(plain(x2)[0]) == 0
    assert not torch.allclose(residual(x1)[0], residual(x2)[0])


def test_plain_resnet_gradients_reach_stem_and_default_init_is_not_zero():
    net = PlainResNet_CIFAR(depth=18, stem_channels=8, base_channels=8)
    net.init_weights()  # zero_init_residual stays off: the output must not be constant
    out = net(torch.randn(4, 3, 32, 32))[0]
    assert out.abs().sum() > 0
    out.square().mean().backward()
    assert net.conv1.weight.grad.abs().sum() > 0


def test_plain_resnet_rejects_options_that_need_a_shortcut():
    with pytest.raises(ValueError, match='zero_init_residual'):
        PlainResNet_CIFAR(depth=18, zero_init_residual=True)
    with pytest.raises(ValueError, match='drop_path_rate'):
        PlainResNet_CIFAR(depth=18, drop_path_rate=0.1)
    with pytest.raises(KeyError, match='18 or 34'):
        PlainResNet_CIFAR(depth=50)
