"""gMLP: the spatial gating unit and stage, and timm's gMLP block."""
import pytest
import torch
from timm.models.mlp_mixer import SpatialGatingBlock, SpatialGatingUnit as TimmSGU

import cifar_plugins  # noqa: F401
from cifar_plugins.models.backbones import SpatialGatingUnit
from cifar_plugins.models.backbones.gmlp import GMLPBlock
from cifar_plugins.registry import MODELS
from fidelity import assert_same, randomise, transfer, x_


def n_params(module):
    return sum(p.numel() for p in module.parameters())


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
