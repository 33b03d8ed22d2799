"""The SlimResNet method blocks (ConvNeXt, Ghost, gated Ghost, HorNet, ResNeSt,
CSP, MBConv, CoAtNet transformer, gMLP): registry builds, shapes, parameter
counts against the papers' formulas, behaviour, gradients and input errors."""
import math
import os.path as osp

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config

import cifar_plugins  # noqa: F401
from cifar_plugins.models.backbones import (GatedGhostModule, GhostModule, RelPosSelfAttention,
                                            SpatialGatingUnit)
from cifar_plugins.registry import MODELS
from helpers import REPO

torch.set_num_threads(1)

BN = dict(type='BN')
RELU = dict(type='ReLU')

# block type -> extra kwargs; every one follows the SlimResNet block interface
BLOCKS = {
    'ConvNeXtStageBlock': {},
    'GhostBasicBlock': dict(ratio=2),
    'GatedGhostBlock': dict(ratio=3, dw_size=5),
    'HorNetStageBlock': dict(order=3),
    'ResNeStBlock': dict(radix=2, groups=2),
    'MBConvBlock': {},
    'RelPosTransformerBlock': dict(head_dim=8, resolution=4),
}
STAGES = {
    'CSPSlimStage': dict(block=dict(type='GhostBasicBlock')),
    'GMLPStage': dict(input_resolution=8),
}


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def build_block(block_type, in_channels, out_channels, stride=1, attention=None, **kwargs):
    return MODELS.build(dict(type=block_type, in_channels=in_channels, out_channels=out_channels,
                             stride=stride, attention=attention, drop_path_rate=0.,
                             norm_cfg=BN, act_cfg=RELU, **kwargs))


@pytest.mark.parametrize('block_type', sorted(BLOCKS))
@pytest.mark.parametrize('stride,out_channels', [(1, 16), (2, 32), (1, 32)])
def test_block_builds_from_registry_with_shapes(block_type, stride, out_channels):
    block = build_block(block_type, 16, out_channels, stride, attention=dict(type='ECA'),
                        **BLOCKS[block_type])
    out = block(torch.randn(2, 16, 8, 8))
    assert out.shape == (2, out_channels, 8 // stride, 8 // stride)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize('stage_type', sorted(STAGES))
def test_stage_builds_from_registry_with_shapes(stage_type):
    cls = MODELS.get(stage_type)
    assert cls.is_stage
    stage = MODELS.build(dict(type=stage_type, in_channels=16, out_channels=32, num_blocks=2,
                              stride=2, attention=dict(type='SE'), drop_path_rates=[0., 0.1],
                              norm_cfg=BN, act_cfg=RELU, **STAGES[stage_type]))
    assert len(stage.blocks) == 2
    assert stage(torch.randn(2, 16, 8, 8)).shape == (2, 32, 4, 4)


@pytest.mark.parametrize('cfg,in_shape,out_shape', [
    (dict(type='GhostModule', in_channels=8, out_channels=12, kernel_size=3, ratio=3, stride=2),
     (2, 8, 6, 6), (2, 12, 3, 3)),
    (dict(type='GatedGhostModule', in_channels=8, out_channels=12, ratio=2),
     (2, 8, 6, 6), (2, 12, 6, 6)),
    (dict(type='RelPosSelfAttention', in_channels=8, out_channels=16, num_heads=2, head_dim=4),
     (2, 8, 5, 3), (2, 16, 5, 3)),
    (dict(type='SpatialGatingUnit', channels=8, num_tokens=5), (2, 5, 8), (2, 5, 4)),
])
def test_modules_build_from_registry(cfg, in_shape, out_shape):
    assert MODELS.build(cfg)(torch.randn(in_shape)).shape == out_shape


@pytest.mark.parametrize('block_type', sorted(BLOCKS) + sorted(STAGES))
def test_attention_is_applied_inside_the_block(block_type):
    """An ECA inside the block runs at the width of the blocks (for CSP, the
    partial width: half of 32)."""
    calls = []
    if block_type in STAGES:
        block = MODELS.build(dict(type=block_type, in_channels=16, out_channels=32,
                                  num_blocks=1, stride=2, attention='eca', **STAGES[block_type]))
    else:
        block = build_block(block_type, 16, 32, 2, attention='eca', **BLOCKS[block_type])
    ecas = [m for m in block.modules() if type(m).__name__ == 'ECA']
    assert ecas
    for eca in ecas:
        eca.register_forward_hook(lambda m, inp, out: calls.append(inp[0].shape[1]))
    block(torch.randn(2, 16, 8, 8))
    width = 16 if block_type == 'CSPSlimStage' else 32
    assert calls and all(c == width for c in calls)


@pytest.mark.parametrize('block_type', sorted(BLOCKS))
def test_gradients_reach_the_first_layer(block_type):
    block = build_block(block_type, 16, 32, 2, attention=dict(type='ECA'), **BLOCKS[block_type])
    x = torch.randn(2, 16, 8, 8, requires_grad=True)
    block(x).square().mean().backward()
    assert x.grad.abs().sum() > 0
    first = next(p for p in block.parameters() if p.dim() == 4)  # first conv weight
    assert first.grad is not None and first.grad.abs().sum() > 0
    missing = [n for n, p in block.named_parameters() if p.grad is None]
    assert not missing, f'parameters without gradient: {missing}'


# ---------------------------------------------------------------- ConvNeXt
def test_convnext_block_parameter_count():
    c = 32
    block = build_block('ConvNeXtStageBlock', c, c)
    # dw 7x7 + bias, LN, pw C->4C, pw 4C->C (with biases), layer scale
    assert n_params(block) == (49 * c + c) + 2 * c + (4 * c * c + 4 * c) + (4 * c * c + c) + c
    assert n_params(block) == 8 * c * c + 58 * c
    down = build_block('ConvNeXtStageBlock', 16, c, stride=2)
    # ConvNeXt downsampling: LN(16) + 2x2 stride-2 conv 16->32
    assert n_params(down) - n_params(block) == 2 * 16 + 4 * 16 * c + c
    k3 = build_block('ConvNeXtStageBlock', c, c, kernel_size=3)
    assert n_params(k3) == 8 * c * c + (9 + 1 + 2 + 4 + 1 + 1) * c  # 3x3 depthwise kernel


def test_convnext_layer_scale_makes_the_block_near_identity():
    block = build_block('ConvNeXtStageBlock', 16, 16).eval()
    x = torch.randn(2, 16, 8, 8)
    torch.testing.assert_close(block(x), x, atol=1e-3, rtol=0)


# ---------------------------------------------------------------- Ghost
def ghost_weights(c, n, k, s, d):
    """Conv weights of a Ghost module (paper, Sec. 3.1)."""
    m = math.ceil(n / s)
    return c * k * k * m + m * (s - 1) * d * d


@pytest.mark.parametrize('ratio', [2, 3, 4])
def test_ghost_module_parameters_vs_plain_conv(ratio):
    c = n = 64
    k, d = 3, 3
    ghost = GhostModule(c, n, kernel_size=k, ratio=ratio, dw_size=d)
    m = math.ceil(n / ratio)
    # + BN scale/shift on the m intrinsic and m (s - 1) ghost maps
    assert n_params(ghost) == ghost_weights(c, n, k, ratio, d) + 2 * m * ratio
    plain = c * k * k * n
    assert abs(ghost_weights(c, n, k, ratio, d) / plain - 1 / ratio) < 0.03
    if n % ratio == 0:  # the paper's compression ratio r_c = s c k^2 / (c k^2 + (s-1) d^2)
        assert plain / ghost_weights(c, n, k, ratio, d) == pytest.approx(
            ratio * c * k * k / (c * k * k + (ratio - 1) * d * d))
    out = ghost(torch.randn(2, c, 8, 8))
    assert out.shape == (2, n, 8, 8)


def test_ghost_module_output_width_and_intrinsic_copy():
    ghost = GhostModule(8, 32, ratio=3, dw_size=3).eval()  # ceil(32/3)=11 -> 33 maps, cut to 32
    x = torch.randn(2, 8, 6, 6)
    out = ghost(x)
    assert out.shape == (2, 32, 6, 6)
    torch.testing.assert_close(out[:, :11], ghost.primary_conv(x))


def test_ghost_basic_block_halves_a_basic_block():
    c = 64
    ghost = build_block('GhostBasicBlock', c, c, ratio=2)
    basic_convs = 2 * 9 * c * c
    ghost_convs = sum(p.numel() for n, p in ghost.named_parameters() if p.dim() == 4)
    assert ghost_convs == 2 * ghost_weights(c, c, 3, 2, 3)
    assert 0.5 < ghost_convs / basic_convs < 0.52


def test_ghost_rejects_ratio_below_two():
    with pytest.raises(ValueError, match='ratio must be an integer >= 2'):
        GhostModule(8, 8, ratio=1)


# ---------------------------------------------------------------- gated Ghost (new idea)
@pytest.mark.parametrize('ratio,dw_size', [(2, 7), (3, 5)])
def test_gated_ghost_has_the_parameters_of_a_ghost_module(ratio, dw_size):
    gated = GatedGhostModule(16, 32, kernel_size=3, ratio=ratio, dw_size=dw_size)
    plain = GhostModule(16, 32, kernel_size=3, ratio=ratio, dw_size=dw_size)
    assert n_params(gated) == n_params(plain)
    assert n_params(build_block('GatedGhostBlock', 16, 32, 2, ratio=ratio, dw_size=dw_size)) == \
        n_params(build_block('GhostBasicBlock', 16, 32, 2, ratio=ratio, dw_size=dw_size))


def test_gated_ghost_maps_are_intrinsic_times_sigmoid_of_its_depthwise_filter():
    torch.manual_seed(0)
    ratio, m = 3, 3  # ceil(8 / 3) intrinsic maps, 6 ghost maps cut to 5
    module = GatedGhostModule(6, 8, ratio=ratio, dw_size=3, act_cfg=None).eval()
    norm = module.cheap_operation['norm']
    norm.running_mean.uniform_(-1, 1)
    norm.running_var.uniform_(0.5, 2)
    x = torch.randn(2, 6, 5, 5)
    out = module(x)
    intrinsic = module.primary_conv(x)
    weight = module.cheap_operation['dwconv'].weight  # (m (s-1), 1, 3, 3)
    for j in range(8 - m):  # ghost map j comes from intrinsic map j // (s - 1)
        src = intrinsic[:, j // (ratio - 1)][:, None]
        filtered = F.conv2d(src, weight[j][None], padding=1)[:, 0]
        normed = (filtered - norm.running_mean[j]) / torch.sqrt(norm.running_var[j] + norm.eps)
        expected = src[:, 0] * torch.sigmoid(normed * norm.weight[j] + norm.bias[j])
        torch.testing.assert_close(out[:, m + j], expected, atol=1e-5, rtol=1e-4)


def test_gated_ghost_maps_are_input_adaptive_and_bounded_by_their_source():
    """Linear Ghost maps scale with the input. Gated ones do not (the gate
    depends on the input) but never exceed the intrinsic map they gate, so a
    deep stack stays finite in eval mode on inputs far outside the BN
    statistics (the product without the sigmoid overflowed to NaN there)."""
    x = torch.randn(1, 4, 6, 6)
    for cls in (GhostModule, GatedGhostModule):
        module = cls(4, 8, kernel_size=3, ratio=2, dw_size=3, act_cfg=None).eval()
        intrinsic, ghost = module(x).split(4, dim=1)
        intrinsic2, ghost2 = module(2 * x).split(4, dim=1)
        torch.testing.assert_close(intrinsic2, 2 * intrinsic)
        linear = torch.allclose(ghost2, 2 * ghost, rtol=1e-4, atol=1e-5)
        assert linear == (cls is GhostModule)
    assert (ghost.abs() <= intrinsic.abs() + 1e-6).all()
    cfg = Config.fromfile(osp.join(REPO, 'configs/cifar100/slim_gatedghost_eca_cifar100.py'))
    model = MODELS.build(cfg.model).eval()
    with torch.no_grad():
        logits = model(1e3 * torch.randn(2, 3, 32, 32), mode='tensor')
    assert torch.isfinite(logits).all()


# ---------------------------------------------------------------- HorNet
def gnconv_params(c, n, k):
    dims = [c // 2**i for i in range(n)][::-1]  # [C/2^(n-1), ..., C/2, C]
    proj_in = c * 2 * c + 2 * c
    dwconv = sum(dims) * k * k + sum(dims)
    projs = sum(dims[i] * dims[i + 1] + dims[i + 1] for i in range(n - 1))
    proj_out = c * c + c
    return dims, proj_in + dwconv + projs + proj_out


@pytest.mark.parametrize('order', [1, 2, 3, 5])
def test_hornet_gnconv_channel_split_and_parameters(order):
    c, k = 32, 7
    block = build_block('HorNetStageBlock', c, c, order=order, kernel_size=k)
    dims, gn = gnconv_params(c, order, k)
    assert block.gnconv.dims == dims
    assert n_params(block.gnconv) == gn
    # + LN before gnConv and MLP, MLP C->4C->C, two layer scales
    assert n_params(block) == gn + 2 * c + 2 * c + (4 * c * c + 4 * c) + (4 * c * c + c) + 2 * c


def test_hornet_order_must_divide_channels():
    with pytest.raises(ValueError, match='divisible by 16'):
        build_block('HorNetStageBlock', 24, 24, order=5)


# ---------------------------------------------------------------- ResNeSt
def split_attention_params(c_in, c, r, g, k=3):
    inter = max(c_in * r // 4, 32)
    conv = c_in // (g * r) * k * k * c * r + 2 * c * r  # grouped conv + BN
    fc1 = c // g * inter + inter + 2 * inter  # grouped 1x1 with bias + BN
    fc2 = inter // g * c * r + c * r
    return conv + fc1 + fc2


@pytest.mark.parametrize('radix,groups', [(1, 1), (2, 1), (2, 2), (4, 1)])
def test_resnest_block_parameter_count(radix, groups):
    c_in, c = 32, 64
    block = build_block('ResNeStBlock', c_in, c, stride=2, radix=radix, groups=groups)
    assert n_params(block.split_attention) == split_attention_params(c_in, c, radix, groups)
    conv2 = 9 * c * c + 2 * c
    shortcut = c_in * c + 2 * c
    assert n_params(block) == split_attention_params(c_in, c, radix, groups) + conv2 + shortcut


def test_resnest_split_attention_weights_sum_to_one_over_radix():
    block = build_block('ResNeStBlock', 16, 16, radix=4).eval()
    sa = block.split_attention
    feats = {}
    sa.rsoftmax.register_forward_hook(lambda m, i, o: feats.setdefault('att', o))
    sa(torch.randn(3, 16, 6, 6))
    att = feats['att'].view(3, 4, 16)  # (batch, radix, channels)
    torch.testing.assert_close(att.sum(1), torch.ones(3, 16))


def test_resnest_rejects_indivisible_channels():
    with pytest.raises(ValueError, match='radix=4, groups=2'):
        build_block('ResNeStBlock', 20, 20, radix=4, groups=2)


# ---------------------------------------------------------------- CSP
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


# ---------------------------------------------------------------- MBConv / CoAtNet
def test_mbconv_parameters_and_shortcut():
    c_in, c, e = 16, 32, 4
    mid, sq = c * e, c // 4  # CoAtNet: expand the output width, SE squeeze out / 4
    block = build_block('MBConvBlock', c_in, c, stride=2, expand_ratio=e)
    pre_norm = 2 * c_in
    expand = c_in * mid + 2 * mid
    dw = 9 * mid + 2 * mid
    se = (mid * sq + sq) + (sq * mid + mid)
    project = mid * c + c  # biased 1x1 conv, no norm after it
    shortcut = c_in * c + c  # CoAtNet's Proj(Pool(x)), a biased 1x1 conv
    assert n_params(block) == pre_norm + expand + dw + se + project + shortcut
    assert isinstance(block.se.act, nn.SiLU)
    identity = build_block('MBConvBlock', c, c).eval()
    assert isinstance(identity.shortcut, nn.Identity)
    with torch.no_grad():  # a zero last conv leaves exactly the identity shortcut
        identity.conv3.weight.zero_()
        identity.conv3.bias.zero_()
        x = torch.randn(2, c, 8, 8)
        torch.testing.assert_close(identity(x), x)
    with pytest.raises(ValueError, match='stride 1 or 2'):
        build_block('MBConvBlock', c, c, stride=3)


def test_relpos_transformer_block_parameter_count():
    c_in, c, head_dim, m = 32, 64, 16, 8
    heads, inner = c // head_dim, c
    block = build_block('RelPosTransformerBlock', c_in, c, stride=2, head_dim=head_dim,
                        resolution=m)
    attn = 3 * inner * c_in + 3 * inner + inner * c + c + (2 * m - 1)**2 * heads
    ffn = 4 * c * c + 4 * c + 4 * c * c + c
    assert n_params(block) == 2 * c_in + attn + 2 * c + ffn + (c_in * c + c)


def test_relative_position_bias_is_translation_invariant():
    attn = RelPosSelfAttention(8, 8, num_heads=2, head_dim=4, rel_pos_size=4)
    with torch.no_grad():  # a distinct value per table entry
        attn.relative_position_bias_table.copy_(torch.arange(49 * 2.).view(49, 2))
    bias = attn.relative_position_bias(3, 4)  # (heads, 12, 12)
    assert bias.shape == (2, 12, 12)
    pos = [(y, x) for y in range(3) for x in range(4)]
    by_offset = {}
    for i, (yi, xi) in enumerate(pos):
        for j, (yj, xj) in enumerate(pos):
            by_offset.setdefault((yi - yj, xi - xj), set()).add(bias[0, i, j].item())
    assert all(len(v) == 1 for v in by_offset.values())  # one bias per offset
    assert len({next(iter(v)) for v in by_offset.values()}) == (2 * 3 - 1) * (2 * 4 - 1)
    # a grid wider than rel_pos_size clips the offsets: at most (2M - 1)^2 values
    assert attn.relative_position_bias(6, 6)[0].unique().numel() == 49


def test_relpos_table_is_sized_from_the_resolution_and_required():
    small = build_block('RelPosTransformerBlock', 16, 16, head_dim=8, resolution=4)
    assert small.attn.relative_position_bias_table.shape == (49, 2)
    explicit = build_block('RelPosTransformerBlock', 16, 16, head_dim=8, resolution=4,
                           rel_pos_size=6)
    assert explicit.attn.relative_position_bias_table.shape == (121, 2)
    with pytest.raises(ValueError, match='resolution'):
        build_block('RelPosTransformerBlock', 16, 16, head_dim=8)


def test_relative_position_bias_gets_gradients_and_depends_on_resolution():
    block = build_block('RelPosTransformerBlock', 16, 16, head_dim=8, resolution=4)
    for size in (4, 6):  # any resolution works; 6 > rel_pos_size clips offsets
        block.zero_grad()
        block(torch.randn(2, 16, size, size)).sum().backward()
        assert block.attn.relative_position_bias_table.grad.abs().sum() > 0


# ---------------------------------------------------------------- gMLP
def test_spatial_gating_unit_starts_as_identity_gate_and_mixes_tokens():
    sgu = SpatialGatingUnit(8, num_tokens=6)
    x = torch.randn(2, 6, 8)
    torch.testing.assert_close(sgu(x), x[..., :4], atol=1e-2, rtol=0)
    with torch.no_grad():
        sgu.spatial_weight.normal_()
    y = x.clone()
    y[:, 0, 4:] = torch.randn(2, 4)  # change the gate half of token 0 only
    changed = (sgu(y) - sgu(x)).abs().sum(-1)
    assert (changed[:, 1:] > 0).all()  # every other token sees it


def test_gmlp_stage_parameter_count():
    c_in, c, res, ratio = 16, 32, 8, 6
    stage = MODELS.build(dict(type='GMLPStage', in_channels=c_in, out_channels=c, num_blocks=1,
                              stride=2, input_resolution=res, ffn_ratio=ratio))
    n, f = (res // 2)**2, c * ratio
    block = 2 * c + (c * f + f) + (f + n * n + n) + (f // 2 * c + c)
    down = 2 * c_in + 4 * c_in * c + c
    assert n_params(stage) == down + block
    assert stage.resolution == (4, 4)


def test_gmlp_stage_needs_and_checks_its_resolution():
    with pytest.raises(ValueError, match='needs input_resolution'):
        MODELS.build(dict(type='GMLPStage', in_channels=8, out_channels=8, num_blocks=1))
    stage = MODELS.build(dict(type='GMLPStage', in_channels=8, out_channels=8, num_blocks=1,
                              input_resolution=(8, 6)))
    assert stage(torch.randn(1, 8, 8, 6)).shape == (1, 8, 8, 6)
    with pytest.raises(ValueError, match=r'built for \(8, 6\).*got \(8, 8\)'):
        stage(torch.randn(1, 8, 8, 8))
