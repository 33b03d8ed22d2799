"""cifar_plugins.analysis.complexity: parameters and MACs of a config's model."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

import cifar_plugins  # noqa: F401
from cifar_plugins.analysis import model_complexity
from cifar_plugins.registry import MODELS
from helpers import REPO


def macs_by_hand(model, size):
    """Conv and linear multiply-accumulates of one forward pass."""
    total = [0]

    def hook(module, inputs, output):
        if isinstance(module, torch.nn.Conv2d):
            k = module.kernel_size[0] * module.kernel_size[1]
            total[0] += output.numel() * module.in_channels // module.groups * k
        else:
            total[0] += module.in_features * module.out_features
    for m in model.modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
            m.register_forward_hook(hook)
    with torch.no_grad():
        model(torch.zeros(1, 3, size, size), mode='tensor')
    return total[0]


@pytest.mark.parametrize('config', ['fastcifarnet_per_sample_cifar10.py',
                                    'resnet18_cifar10.py'])
def test_model_complexity_matches_counts_by_hand(config):
    cfg = Config.fromfile(osp.join(REPO, 'configs', config))
    stats = model_complexity(cfg)
    model = MODELS.build(cfg.model).eval()
    assert stats['params'] == sum(p.numel() for p in model.parameters())
    # conv/linear MACs by hand; BN and pooling add well under 1%
    assert stats['macs'] == pytest.approx(macs_by_hand(model, 32), rel=0.01)
    assert stats['gmacs'] == pytest.approx(stats['macs'] / 1e9)
    if config.startswith('resnet18'):  # the CIFAR ResNet18: 11.17M params, 0.56 GMACs
        assert stats['params'] == 11173962 and 0.55 < stats['gmacs'] < 0.57


def test_attention_macs_are_counted():
    from mmengine.analysis import FlopAnalyzer

    from cifar_plugins.analysis.complexity import sdpa_macs

    class Attention(torch.nn.Module):
        def forward(self, q, k, v):
            return torch.nn.functional.scaled_dot_product_attention(q, k, v)
    q, k, v = torch.zeros(2, 3, 5, 8), torch.zeros(2, 3, 7, 8), torch.zeros(2, 3, 7, 4)
    analyzer = FlopAnalyzer(Attention(), (q, k, v))
    analyzer.set_op_handle('aten::scaled_dot_product_attention', sdpa_macs)
    analyzer.unsupported_ops_warnings(False)
    assert analyzer.total() == 2 * 3 * (5 * 7 * 8 + 5 * 7 * 4)  # QK^T + AV
