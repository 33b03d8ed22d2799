"""Module fidelity (issue 11): every CIFAR-100 module against a reference.

Modules with a reference in timm or mmpretrain are built with the same
hyper-parameters as the reference, the parameter counts are compared, the
reference's (randomised) weights and norm statistics are copied in and the
outputs compared in eval mode. Modules without a library reference (MSCA, LSK,
the CSP stage) are checked against the paper's parameter formula and a
hand-written forward of the paper's equations. The last section measures the
initialisation each block family applies inside a ``SlimResNet``.
"""
import math
import os.path as osp
from functools import partial

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config
from mmpretrain.models.backbones import HorNet
from timm.layers import EcaModule, LayerNorm2d, SEModule, SplitAttn
from timm.layers.pos_embed_rel import RelPosBias
from timm.models.convnext import ConvNeXtStage
from timm.models.ghostnet import GhostModule as TimmGhostModule
from timm.models.maxxvit import (MaxxVitConvCfg, MaxxVitTransformerCfg, MbConvBlock,
                                 TransformerBlock2d)
from timm.models.mlp_mixer import SpatialGatingBlock, SpatialGatingUnit as TimmSGU

import cifar_plugins  # noqa: F401
from cifar_plugins.models import (ECA, MSCA, SE, ChannelGroupSoftmax, GhostModule, LSKAttention,
                                  SpatialGatingUnit, build_attention)
from cifar_plugins.models.backbones.gmlp import GMLPBlock
from cifar_plugins.registry import MODELS

NORM_TYPES = (nn.modules.batchnorm._BatchNorm, nn.LayerNorm, nn.GroupNorm)


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def is_norm(module):
    return isinstance(module, NORM_TYPES) or 'LayerNorm' in type(module).__name__


@torch.no_grad()
def randomise(module, seed=0):
    """Random weights everywhere (layer scales, biases and bias tables too, so no
    branch is ~0) and random affine + running statistics in every norm."""
    gen = torch.Generator().manual_seed(seed)

    def randn(t, std):
        return torch.randn(t.shape, generator=gen) * std

    norm_params = set()
    for m in module.modules():
        if not is_norm(m):
            continue
        if getattr(m, 'weight', None) is not None:
            m.weight.copy_(1 + randn(m.weight, 0.3))
            m.bias.copy_(randn(m.bias, 0.3))
            norm_params |= {id(m.weight), id(m.bias)}
        if getattr(m, 'running_mean', None) is not None:
            m.running_mean.copy_(randn(m.running_mean, 0.3))
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) + 0.5)
    for p in module.parameters():
        if id(p) not in norm_params:
            p.copy_(randn(p, 1 / math.sqrt(p[0].numel())) if p.dim() > 1 else randn(p, 0.3))
    return module


def transfer(dst, src, rename=()):
    """Load ``src``'s state into ``dst``: ``dst`` key -> ``src`` key by the
    first matching ``(dst_prefix, src_prefix)`` of ``rename``; tensors of equal
    size are reshaped (Linear <-> 1x1 conv). Every ``src`` entry must be used."""
    src_state = src.state_dict()
    new, used = {}, set()
    for key, value in dst.state_dict().items():
        src_key = key
        for a, b in rename:
            if key.startswith(a):
                src_key = b + key[len(a):]
                break
        ref = src_state[src_key]
        assert ref.numel() == value.numel(), (key, src_key, ref.shape, value.shape)
        new[key] = ref.reshape(value.shape).clone()
        used.add(src_key)
    assert used == set(src_state), set(src_state) - used
    dst.load_state_dict(new)


def assert_same(ours, ref, *inputs):
    ours.eval(), ref.eval()
    with torch.no_grad():
        out, expected = ours(*inputs), ref(*inputs)
    assert out.shape == expected.shape
    assert expected.abs().max() > 1e-2  # a real signal, not a collapsed output
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)


def x_(*shape, seed=1):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


# ---------------------------------------------------------------- channel attention
@pytest.mark.parametrize('channels', [64, 256])
def test_eca_matches_timm(channels):
    ref = randomise(EcaModule(channels=channels, gamma=2, beta=1))
    ours = ECA(channels)
    assert n_params(ours) == n_params(ref) == ours.kernel_size
    transfer(ours, ref)
    assert_same(ours, ref, x_(2, channels, 5, 5))


@pytest.mark.parametrize('channels', [64, 256])
def test_se_matches_timm(channels):
    ref = randomise(SEModule(channels, rd_ratio=1 / 16, rd_divisor=8))
    ours = SE(channels)
    assert n_params(ours) == n_params(ref)
    transfer(ours, ref, [('conv1.conv.', 'fc1.'), ('conv2.conv.', 'fc2.')])
    assert_same(ours, ref, x_(2, channels, 5, 5))


@pytest.mark.parametrize('ratio,dw_size,stride', [(2, 3, 1), (3, 3, 2), (2, 7, 1)])
def test_ghost_module_matches_timm(ratio, dw_size, stride):
    ref = randomise(TimmGhostModule(16, 30, kernel_size=3, ratio=ratio, dw_size=dw_size,
                                    stride=stride))
    ours = GhostModule(16, 30, kernel_size=3, ratio=ratio, dw_size=dw_size, stride=stride)
    assert n_params(ours) == n_params(ref)
    transfer(ours, ref, [('primary_conv.conv.', 'primary_conv.0.'),
                         ('primary_conv.bn.', 'primary_conv.1.'),
                         ('cheap_operation.conv.', 'cheap_operation.0.'),
                         ('cheap_operation.bn.', 'cheap_operation.1.')])
    assert_same(ours, ref, x_(2, 16, 8, 8))


# ---------------------------------------------------------------- split attention
@pytest.mark.parametrize('radix,groups', [(1, 1), (2, 1), (4, 1), (2, 2)])
def test_resnest_split_attention_conv_matches_timm(radix, groups):
    c_in, c = 32, 64
    ref = randomise(SplitAttn(c_in, c, kernel_size=3, padding=1, groups=groups, radix=radix,
                              rd_ratio=0.25, norm_layer=nn.BatchNorm2d))
    block = MODELS.build(dict(type='ResNeStBlock', in_channels=c_in, out_channels=c,
                              radix=radix, groups=groups))
    ours = block.split_attention
    assert n_params(ours) == n_params(ref)
    transfer(ours, ref, [('norm0.', 'bn0.'), ('norm1.', 'bn1.')])
    assert_same(ours, ref, x_(2, c_in, 8, 8))


def test_split_attention_is_only_the_resnest_block():
    """The former factory 'split' attention was not ResNeSt's: it is renamed and the
    old names fail loudly, pointing at ResNeStBlock."""
    for name in ('split', 'splat', 'SplitAttention'):
        with pytest.raises(KeyError, match='ResNeStBlock'):
            build_attention(name, 32)
    module = build_attention('group_softmax', 32)
    assert type(module) is ChannelGroupSoftmax
    # it keeps all C channels (ResNeSt's fusion would sum radix splits into C / radix)
    assert module(x_(2, 32, 4, 4)).shape == (2, 32, 4, 4)


# ---------------------------------------------------------------- ConvNeXt / HorNet
@pytest.mark.parametrize('kernel_size', [7, 3])
def test_convnext_block_with_downsampling_matches_timm_stage(kernel_size):
    ref = randomise(ConvNeXtStage(32, 64, kernel_size=kernel_size, stride=2, depth=1,
                                  ls_init_value=1e-6, conv_mlp=False,
                                  norm_layer=partial(LayerNorm2d, eps=1e-6),
                                  norm_layer_cl=partial(nn.LayerNorm, eps=1e-6)))
    ours = MODELS.build(dict(type='ConvNeXtStageBlock', in_channels=32, out_channels=64,
                             stride=2, kernel_size=kernel_size))
    assert n_params(ours) == n_params(ref)
    transfer(ours, ref, [('downsample.', 'downsample.'),
                         ('block.depthwise_conv.', 'blocks.0.conv_dw.'),
                         ('block.norm.', 'blocks.0.norm.'),
                         ('block.pointwise_conv1.', 'blocks.0.mlp.fc1.'),
                         ('block.pointwise_conv2.0.', 'blocks.0.mlp.fc2.'),
                         ('block.gamma', 'blocks.0.gamma')])
    assert_same(ours, ref, x_(2, 32, 8, 8))


@pytest.mark.parametrize('stage,order', [(1, 3), (2, 4)])
def test_hornet_block_with_downsampling_matches_mmpretrain_hornet(stage, order):
    base = 16
    hornet = HorNet(arch=dict(base_dim=base, depths=[1, 1, 1, 1], orders=[2, 3, 4, 5],
                              dw_cfg=[dict(type='DW', kernel_size=7)] * 4), scale=1 / 3)
    ref = randomise(nn.Sequential(hornet.downsample_layers[stage], hornet.stages[stage]))
    c_in, c = base * 2**(stage - 1), base * 2**stage
    ours = MODELS.build(dict(type='HorNetStageBlock', in_channels=c_in, out_channels=c,
                             stride=2, order=order, kernel_size=7, scale=1 / 3))
    assert n_params(ours) == n_params(ref)
    transfer(ours, ref, [('downsample.', '0.'), ('block.gnconv.0.', '1.0.gnconv.'),
                         ('block.', '1.0.')])
    assert_same(ours, ref, x_(2, c_in, 8, 8))


# ---------------------------------------------------------------- gMLP
def test_spatial_gating_unit_and_gmlp_block_match_timm():
    d, n = 32, 16
    ref_sgu = randomise(TimmSGU(2 * d, n))
    ours_sgu = SpatialGatingUnit(2 * d, n)
    assert n_params(ours_sgu) == n_params(ref_sgu)
    transfer(ours_sgu, ref_sgu, [('spatial_weight', 'proj.weight'),
                                 ('spatial_bias', 'proj.bias')])
    assert_same(ours_sgu, ref_sgu, x_(2, n, 2 * d))

    ref = randomise(SpatialGatingBlock(d, n, mlp_ratio=6))
    ours = GMLPBlock(d, n, ffn_ratio=6)
    assert n_params(ours) == n_params(ref)
    transfer(ours, ref, [('proj_in.', 'mlp_channels.fc1.'),
                         ('sgu.spatial_weight', 'mlp_channels.gate.proj.weight'),
                         ('sgu.spatial_bias', 'mlp_channels.gate.proj.bias'),
                         ('sgu.norm.', 'mlp_channels.gate.norm.'),
                         ('proj_out.', 'mlp_channels.fc2.')])
    tokens = x_(2, d, 4, 4)
    ours.eval(), ref.eval()
    with torch.no_grad():
        expected = ref(tokens.flatten(2).transpose(1, 2)).transpose(1, 2).reshape(tokens.shape)
        torch.testing.assert_close(ours(tokens), expected, atol=1e-5, rtol=1e-5)


# ---------------------------------------------------------------- CoAtNet
MBCONV_RENAME = [('pre_norm.', 'pre_norm.'), ('conv1.', 'conv1_1x1.'), ('conv2.', 'conv2_kxk.'),
                 ('conv3.', 'conv3_1x1.'), ('shortcut.1.', 'shortcut.expand.')]


@pytest.mark.parametrize('c_in,c,stride', [(32, 64, 2), (64, 64, 1)])
def test_mbconv_matches_timm_coatnet_block(c_in, c, stride):
    ref = randomise(MbConvBlock(c_in, c, stride, cfg=MaxxVitConvCfg()))
    ours = MODELS.build(dict(type='MBConvBlock', in_channels=c_in, out_channels=c,
                             stride=stride, act_cfg=dict(type='GELU')))
    assert n_params(ours) == n_params(ref)
    if (c_in, c) == (32, 64):
        assert n_params(ours) == 38608  # the figure for the 32->64 entry
    transfer(ours, ref, MBCONV_RENAME)
    assert_same(ours, ref, x_(2, c_in, 8, 8))


@pytest.mark.parametrize('c_in,c,stride,resolution', [(64, 128, 2, 4), (128, 128, 1, 4),
                                                      (64, 64, 1, 8)])
def test_relpos_transformer_block_matches_timm(c_in, c, stride, resolution):
    cfg = MaxxVitTransformerCfg()
    rel_pos = partial(RelPosBias, window_size=(resolution, resolution))
    ref = randomise(TransformerBlock2d(c_in, c, stride, rel_pos_cls=rel_pos, cfg=cfg))
    ours = MODELS.build(dict(type='RelPosTransformerBlock', in_channels=c_in, out_channels=c,
                             stride=stride, head_dim=32, mlp_ratio=4, resolution=resolution))
    assert ours.attn.relative_position_bias_table.shape == ((2 * resolution - 1)**2,
                                                            c // 32)
    assert n_params(ours) == n_params(ref)
    transfer(ours, ref, [('shortcut.1.', 'shortcut.expand.'), ('norm1.', 'norm1.norm.' if
                                                                stride == 2 else 'norm1.'),
                         ('attn.relative_position_bias_table',
                          'attn.rel_pos.relative_position_bias_table'),
                         ('ffn.0.', 'mlp.fc1.'), ('ffn.2.', 'mlp.fc2.')])
    assert_same(ours, ref, x_(2, c_in, resolution * stride, resolution * stride))


def test_coatnet_stage_tables_are_sized_from_the_stage_resolution():
    repo = osp.dirname(osp.dirname(osp.abspath(__file__)))
    for name, sizes in (('slim_coatnet_cifar100.py', {2: 8, 3: 4}),
                        ('slim_coatnet_ccct_cifar100.py', {3: 4})):
        cfg = Config.fromfile(osp.join(repo, 'configs', 'cifar100', name))
        backbone = MODELS.build(cfg.model.backbone)
        for stage, side in sizes.items():
            for block in backbone.stages[stage]:
                assert block.attn.relative_position_bias_table.shape[0] == (2 * side - 1)**2
        # the grid each stage really sees on 32x32 images
        x = backbone.stem(torch.zeros(1, 3, 32, 32))
        for i, stage_module in enumerate(backbone.stages):
            x = stage_module(x)
            if i in sizes:
                assert x.shape[-1] == sizes[i]


# ---------------------------------------------------------------- MSCA / LSK (no library)
def conv(x, layer, **kwargs):
    return F.conv2d(x, layer.weight, layer.bias, padding=layer.padding,
                    dilation=layer.dilation, groups=layer.groups, **kwargs)


@pytest.mark.parametrize('channels,branches', [(8, (7, 11, 21)), (16, (7, )), (8, ())])
def test_msca_unit_parameters_and_paper_forward(channels, branches):
    c = channels
    unit, bare = MSCA(c, branches=branches), MSCA(c, branches=branches, form='bare')
    core = 26 * c + sum(2 * c * (k + 1) for k in branches) + c * c + c
    assert n_params(bare) == core
    assert n_params(unit) == core + 2 * (c * c + c)  # proj_1, proj_2
    randomise(unit)
    x = x_(2, c, 9, 9)
    # SegNeXt: Attention(x) = x + proj_2(MSCA(GELU(proj_1(x)))),
    # MSCA(z) = z * conv1x1(DW5(z) + sum_k DW_kx1(DW_1xk(DW5(z))))
    z = F.gelu(conv(x, unit.proj_in))
    local = conv(z, unit.local)
    context = local + sum(conv(conv(local, h), v) for h, v in unit.branches)
    expected = x + conv(z * conv(context, unit.channel_mix), unit.proj_out)
    with torch.no_grad():
        torch.testing.assert_close(unit(x), expected, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match='form'):
        MSCA(c, form='wrapped')


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


def test_bare_msca_is_the_module_alone():
    c = 8
    bare = randomise(MSCA(c, branches=(7, ), form='bare'))
    x = x_(2, c, 9, 9)
    local = conv(x, bare.local)
    (h, v), = bare.branches
    expected = x * conv(local + conv(conv(local, h), v), bare.channel_mix)
    with torch.no_grad():
        torch.testing.assert_close(bare(x), expected, atol=1e-5, rtol=1e-5)


# ---------------------------------------------------------------- CSP (no library)
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


# ---------------------------------------------------------------- init per family
def init_backbone(block, **kwargs):
    torch.manual_seed(0)
    net = MODELS.build(dict(type='SlimResNet', block=block, **kwargs))
    net.init_weights()
    return net


def weights(net, types):
    return [(name, m.weight) for name, m in net.named_modules()
            if isinstance(m, types) and name.startswith('stages.')]


def assert_std(weight, expected, name):
    assert weight.std().item() == pytest.approx(expected, rel=0.2), name


@pytest.mark.parametrize('block_type', ['ConvNeXtStageBlock', 'HorNetStageBlock'])
def test_convnext_and_hornet_blocks_own_trunc_normal_init_and_layer_scale(block_type):
    block = dict(type=block_type)
    if block_type == 'HorNetStageBlock':
        block['order'] = 2
    net = init_backbone(block)
    measured = weights(net, (nn.Conv2d, nn.Linear))
    assert len(measured) > 10
    for name, weight in measured:
        if weight.numel() >= 1000:  # Kaiming fan-out would give 0.036-0.18 here
            assert_std(weight, 0.02, name)
    scales = [p for name, p in net.named_parameters()
              if name.endswith('gamma') or 'gamma1' in name or 'gamma2' in name]
    assert scales and all(torch.all(p == torch.tensor(1e-6)) for p in scales)
    # the ResNet-family stem keeps the backbone's Kaiming init
    stem = net.stem.conv.weight
    assert_std(stem, math.sqrt(2 / (9 * stem.shape[0])), 'stem')


def test_basic_and_mbconv_blocks_init_per_family():
    basic = init_backbone(dict(type='SlimBasicBlock'))
    for name, weight in weights(basic, nn.Conv2d):
        fan_out = weight.shape[0] * weight[0, 0].numel()
        assert_std(weight, math.sqrt(2 / fan_out), name)  # Kaiming fan-out (ResNet)

    mb = init_backbone(dict(type='MBConvBlock', act_cfg=dict(type='GELU')))
    dw = [(n, w) for n, w in weights(mb, nn.Conv2d) if w.shape[1] == 1 and w.shape[-1] == 3]
    assert dw
    for name, weight in dw:  # EfficientNet fan-out / groups: sqrt(2 / 9), not Kaiming's
        assert_std(weight, math.sqrt(2 / 9), name)
    for name, weight in weights(mb, nn.Conv2d):
        if weight.shape[-1] == 1 and weight.numel() >= 1000:
            assert_std(weight, math.sqrt(2 / weight.shape[0]), name)

    transformer = init_backbone([dict(type='SlimBasicBlock')] * 2 + [
        dict(type='RelPosTransformerBlock', resolution=8),
        dict(type='RelPosTransformerBlock', resolution=4)])
    linears = [(n, w) for n, w in weights(transformer, nn.Linear)]
    assert linears
    for name, weight in linears:
        assert_std(weight, 0.02, name)
