"""LSKAttention (LSKNet): parameter counts and the paper's forward."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import cifar_plugins  # noqa: F401
from cifar_plugins.models import LSKAttention
from fidelity import conv, randomise, x_


def n_params(module):
    return sum(p.numel() for p in module.parameters())


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


@pytest.mark.parametrize('channels', [8, 16])
def test_lsk_unit_parameters_and_paper_forward(channels):
    c = channels
    unit, bare = LSKAttention(c), LSKAttention(c, form='bare')
    assert n_params(bare) == 1.5 * c * c + 78 * c + 198
    assert n_params(unit) == 1.5 * c * c + 78 * c + 198 + 2 * (c * c + c)
    randomise(unit)
    x = x_(2, c, 9, 9)
    # LSKNet: Attention(x) = x + proj_2(LSK(GELU(proj_1(x)))); LSK(z):
    # U1 = DW5(z), U2 = DW7_d3(U1); Ui' = conv1x1_i(Ui); SA = [avg_c; max_c]([U1'; U2']);
    # S = sigmoid(conv7(SA)); LSK(z) = z * conv1x1(S1 U1' + S2 U2')

    def lsk(z, m):
        u1 = conv(z, m.local)
        u2 = conv(u1, m.dilated)
        u1, u2 = conv(u1, m.reduce_local), conv(u2, m.reduce_dilated)
        both = torch.cat([u1, u2], 1)
        stats = torch.cat([both.mean(1, keepdim=True), both.max(1, keepdim=True).values], 1)
        s = conv(stats, m.select).sigmoid()
        return z * conv(s[:, :1] * u1 + s[:, 1:] * u2, m.proj)

    z = F.gelu(conv(x, unit.proj_in))
    with torch.no_grad():
        torch.testing.assert_close(unit(x), x + conv(lsk(z, unit), unit.proj_out),
                                   atol=1e-5, rtol=1e-5)
        # the bare form is the module alone: LSK(x), no 1x1s and no shortcut
        bare.load_state_dict({k: v for k, v in unit.state_dict().items()
                              if not k.startswith(('proj_in', 'proj_out'))})
        torch.testing.assert_close(bare(x), lsk(x, unit), atol=1e-5, rtol=1e-5)
