"""Every config in configs/ builds and runs a forward pass; data roots from the
environment."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config

import cifar_plugins  # noqa: F401
from cifar_plugins.apis import check_num_classes
from cifar_plugins.registry import DATASETS, MODELS
from helpers import REPO, STUDIES

CONFIGS = sorted(p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
                 if '_base_' not in p and STUDIES not in p)


def test_there_are_configs():
    assert any(p.endswith('fastcifarnet_per_sample_cifar10.py')
               for p in CONFIGS)
    assert any(p.endswith(osp.join('fast', 'quickstart_cifar10.py'))
               for p in CONFIGS)
    assert any(p.endswith('resnet18_ms_cifar10.py') for p in CONFIGS)


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.relpath(p, REPO))
def test_config_builds_and_runs_forward(path):
    cfg = Config.fromfile(path)
    if cfg.get('requires_download', False):
        pytest.skip('pretrained weights from the hub; wiring checked offline in '
                    'tests/test_configs/test_cifar10_configs.py')
    assert 'cifar_plugins' in cfg.custom_imports['imports']
    check_num_classes(cfg)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.eval()
    size = cfg.get('input_size', 32)
    with torch.no_grad():
        logits = model(torch.randn(2, 3, size, size), mode='tensor')
    assert logits.shape == (2, cfg.model.head.num_classes)
    dataset_cls = DATASETS.get(cfg.train_dataloader.dataset.type)
    assert dataset_cls is not None


def test_data_root_env_override(monkeypatch):
    monkeypatch.setenv('CIFAR10_ROOT', '/somewhere/c10')
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'resnet18_cifar10.py'))
    assert cfg.train_dataloader.dataset.data_root == '/somewhere/c10'
    monkeypatch.delenv('CIFAR10_ROOT')
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'resnet18_cifar10.py'))
    assert cfg.test_dataloader.dataset.data_root == 'data/cifar10'
