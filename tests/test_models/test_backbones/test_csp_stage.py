"""CSPSlimStage: partial width, bypass, errors, and the paper's forward."""
import pytest
import torch
import torch.nn.functional as F

import cifar_plugins  # noqa: F401
from cifar_plugins.registry import MODELS
from fidelity import conv, randomise, x_


def n_params(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize('split_ratio', [0.25, 0.5, 0.75])
def test_csp_stage_parameters_and_partial_width(split_ratio):
    c_in, c, blocks = 16, 64, 2
    stage = MODELS.build(dict(type='CSPSlimStage', in_channels=c_in, out_channels=c,
                              num_blocks=blocks, stride=2, block=dict(type='SlimBasicBlock'),
                              split_ratio=split_ratio))
    p = round(split_ratio * c)
    basic = 2 * (9 * p * p + 2 * p)  # two 3x3 conv + BN at the partial width
    expand = c * c + 2 * c           # CSPNet's 1x1 conv before the split
    expected = ((9 * c_in * c + 2 * c) + expand + blocks * basic + (p * p + 2 * p)
                + (c * c + 2 * c))
    assert n_params(stage) == expected
    assert all(b.conv1.conv.in_channels == p for b in stage.blocks)


@pytest.mark.parametrize('expand_conv', [True, False])
def test_csp_bypass_part_skips_the_blocks(expand_conv):
    stage = MODELS.build(dict(type='CSPSlimStage', in_channels=8, out_channels=8, num_blocks=1,
                              block=dict(type='SlimBasicBlock'), split_ratio=0.25,
                              expand_conv=expand_conv)).eval()
    seen = {}
    stage.fuse_transition.register_forward_pre_hook(lambda m, i: seen.setdefault('x', i[0]))
    x = torch.randn(2, 8, 6, 6)
    stage(x)
    # 1 - 0.25 of 8 channels bypass: the expand conv's output (CSPNet), or the raw input
    # of the first stage in the ablation without it
    bypass = stage.expand(x) if expand_conv else x
    torch.testing.assert_close(seen['x'][:, :6], bypass[:, :6])
    assert expand_conv != torch.allclose(seen['x'][:, :6], x[:, :6])


def test_csp_rejects_bad_ratio_and_stage_types():
    with pytest.raises(ValueError, match='split_ratio'):
        MODELS.build(dict(type='CSPSlimStage', in_channels=8, out_channels=8, num_blocks=1,
                          split_ratio=1.0))
    with pytest.raises(ValueError, match='wraps block types'):
        MODELS.build(dict(type='CSPSlimStage', in_channels=8, out_channels=8, num_blocks=1,
                          block=dict(type='GMLPStage')))
    with pytest.raises(KeyError, match='NoSuchBlock'):
        MODELS.build(dict(type='CSPSlimStage', in_channels=8, out_channels=8, num_blocks=1,
                          block=dict(type='NoSuchBlock')))


def bn_act(x, module, act=True):
    y = F.batch_norm(x, module.bn.running_mean, module.bn.running_var, module.bn.weight,
                     module.bn.bias, eps=module.bn.eps)
    return F.relu(y) if act else y


@pytest.mark.parametrize('c_in,c,stride,ratio', [(16, 16, 1, 0.5), (16, 32, 2, 0.25),
                                                 (16, 32, 2, 0.75)])
def test_csp_stage_parameters_and_paper_forward(c_in, c, stride, ratio):
    stage = MODELS.build(dict(type='CSPSlimStage', in_channels=c_in, out_channels=c,
                              num_blocks=2, stride=stride, block=dict(type='SlimBasicBlock'),
                              split_ratio=ratio))
    p = round(ratio * c)
    blocks = n_params(stage.blocks)
    assert blocks == 2 * (2 * (9 * p * p + 2 * p))  # two basic blocks on p channels
    down = 9 * c_in * c + 2 * c if (stride, c_in) != (1, c) else 0
    expand, partial_t, fuse = c * c + 2 * c, p * p + 2 * p, c * c + 2 * c
    assert n_params(stage) == down + expand + blocks + partial_t + fuse
    no_expand = MODELS.build(dict(type='CSPSlimStage', in_channels=c_in, out_channels=c,
                                  num_blocks=2, stride=stride, expand_conv=False,
                                  split_ratio=ratio))
    assert n_params(stage) - n_params(no_expand) == expand

    randomise(stage).eval()
    x = x_(2, c_in, 8, 8)
    # CSPNet (fusion last): x' = expand(down(x)) = [x0, x1]; x1' = T(blocks(x1));
    # out = T_fuse([x0, x1'])
    with torch.no_grad():
        y = x
        if down:
            y = bn_act(conv(y, stage.downsample.conv, stride=stride), stage.downsample)
        y = bn_act(conv(y, stage.expand.conv), stage.expand)
        x0, x1 = y[:, :c - p], y[:, c - p:]
        x1 = bn_act(conv(stage.blocks(x1), stage.partial_transition.conv),
                    stage.partial_transition)
        fused = torch.cat([x0, x1], 1)
        expected = bn_act(conv(fused, stage.fuse_transition.conv), stage.fuse_transition)
        torch.testing.assert_close(stage(x), expected, atol=1e-5, rtol=1e-5)
