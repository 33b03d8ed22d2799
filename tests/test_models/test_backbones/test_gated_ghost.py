"""GatedGhostModule: Ghost parameters, gated cheap maps."""
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config

import cifar_plugins  # noqa: F401
from cifar_plugins.models.backbones import GatedGhostModule, GhostModule
from cifar_plugins.registry import MODELS
from helpers import REPO

BN = dict(type='BN')
RELU = dict(type='ReLU')


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def build_block(block_type, in_channels, out_channels, stride=1, attention=None, **kwargs):
    return MODELS.build(dict(type=block_type, in_channels=in_channels, out_channels=out_channels,
                             stride=stride, attention=attention, drop_path_rate=0.,
                             norm_cfg=BN, act_cfg=RELU, **kwargs))


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
