"""RelPosTransformerBlock (CoAtNet): relative position bias, and timm's block."""
import os.path as osp
from functools import partial

import pytest
import torch
from mmengine.config import Config
from timm.layers.pos_embed_rel import RelPosBias
from timm.models.maxxvit import MaxxVitTransformerCfg, TransformerBlock2d

import cifar_plugins  # noqa: F401
from cifar_plugins.models.backbones import RelPosSelfAttention
from cifar_plugins.registry import MODELS
from fidelity import assert_same, randomise, transfer, x_
from helpers import REPO

BN = dict(type='BN')
RELU = dict(type='ReLU')


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def build_block(block_type, in_channels, out_channels, stride=1, attention=None, **kwargs):
    return MODELS.build(dict(type=block_type, in_channels=in_channels, out_channels=out_channels,
                             stride=stride, attention=attention, drop_path_rate=0.,
                             norm_cfg=BN, act_cfg=RELU, **kwargs))


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
    for name, sizes in (('slim_coatnet_cifar100.py', {2: 8, 3: 4}),
                        ('slim_coatnet_ccct_cifar100.py', {3: 4})):
        cfg = Config.fromfile(osp.join(REPO, 'configs', 'cifar100', name))
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
