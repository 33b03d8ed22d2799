"""The training tricks in configs/tricks and their metafile."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from mmpretrain.structures import DataSample

import cifar_plugins  # noqa: F401
from cifar_plugins.registry import DATASETS, MODELS
from helpers import REPO

TRICKS = osp.join(REPO, 'configs', 'tricks')


def tricks_cfg(name):
    return Config.fromfile(osp.join(TRICKS, f'{name}.py'))


@pytest.mark.parametrize('name,first', [('autoaugment_cifar', 'AutoAugment'),
                                        ('randaugment_cifar', 'RandAugment'),
                                        ('all_tricks', 'AutoAugment')])
def test_policy_configs_augment_the_train_pipeline_only(name, first, cifar10_root):
    cfg = tricks_cfg(name)
    pipeline = cfg.train_dataloader.dataset.pipeline
    assert [t['type'] for t in pipeline] == [first, 'PackInputs']
    assert [t['type'] for t in cfg.val_dataloader.dataset.pipeline] == ['PackInputs']
    dataset = DATASETS.build(dict(cfg.train_dataloader.dataset, data_root=cifar10_root,
                                  download=False))
    item = dataset[0]
    assert item['inputs'].shape == (3, 32, 32) and item['inputs'].dtype == torch.uint8


def test_cutout_config_switches_it_on():
    cfg = tricks_cfg('cutout')
    assert cfg.data_preprocessor.cutout_size == 16
    pre = MODELS.build(cfg.data_preprocessor)
    assert pre.cutout_size == 16 and pre.crop_padding == 4


def test_dropout_head_config_trains_end_to_end():
    cfg = tricks_cfg('dropout_head')
    assert cfg.model.head.type == 'DropoutLinearClsHead'
    cfg.model.backbone.update(base_channels=4, stem_channels=4)
    cfg.model.head.in_channels = 32
    model = MODELS.build(cfg.model)
    model.init_weights()
    samples = [DataSample().set_gt_label(i) for i in range(4)]
    losses = model(torch.randn(4, 3, 32, 32), samples, mode='loss')
    losses['loss'].backward()
    assert model.backbone.conv1.weight.grad.abs().sum() > 0


def test_drop_path_config_sets_linearly_increasing_rates():
    cfg = tricks_cfg('drop_path')
    backbone = MODELS.build(cfg.model.backbone)
    rates = [m.drop_prob for m in backbone.modules() if type(m).__name__ == 'DropPath']
    # ResNet18: 8 blocks, rates linspace(0, 0.1, 8); the first (0) has no DropPath
    assert rates == pytest.approx([0.1 * i / 7 for i in range(1, 8)])


def test_auto_scale_lr_config_scales_lr_with_batch(tmp_path):
    cfg = tricks_cfg('auto_scale_lr')
    cfg.work_dir = str(tmp_path)
    cfg.model.backbone.update(base_channels=4, stem_channels=4)
    cfg.model.head.in_channels = 32
    runner = Runner.from_cfg(cfg)
    optim_wrapper = runner.build_optim_wrapper(cfg.optim_wrapper)
    runner.scale_lr(optim_wrapper, cfg.auto_scale_lr)
    assert optim_wrapper.param_groups[0]['lr'] == pytest.approx(0.1 * 512 / 128)


def test_hook_configs_register_the_hooks():
    def hook_types(name):
        return [h['type'] for h in tricks_cfg(name).get('custom_hooks', [])]

    assert hook_types('ema') == ['EMAHook']
    assert hook_types('swa') == ['SWAHook']
    assert hook_types('early_stopping') == ['ResumableEarlyStoppingHook']
    assert hook_types('all_tricks') == ['EMAHook']
    swa = tricks_cfg('swa')
    cosine = swa.param_scheduler[-1]
    # the LR reaches swa_lr when averaging starts and no scheduler runs afterwards
    assert cosine.end == swa.custom_hooks[0].begin_epoch - 1 and cosine.eta_min == swa.swa_lr
    assert tricks_cfg('label_smoothing').model.head.loss.type == 'LabelSmoothLoss'
    warm = tricks_cfg('warmup_cosine').param_scheduler
    assert [s.type for s in warm] == ['LinearLR', 'CosineAnnealingLR']
    assert warm[1].end == tricks_cfg('warmup_cosine').train_cfg.max_epochs


def test_metafile_lists_every_tricks_config():
    import glob

    import yaml
    with open(osp.join(TRICKS, 'metafile.yml')) as f:
        meta = yaml.safe_load(f)
    configs = sorted(osp.relpath(p, REPO) for p in glob.glob(osp.join(TRICKS, '*.py')))
    assert sorted(m['Config'] for m in meta['Models']) == configs
    n_params = {}
    for entry in meta['Models']:
        for result in entry.get('Results', []):  # measured here: say how
            assert result['Dataset'] == 'CIFAR-10'
            metrics = result['Metrics']
            assert all(name.endswith(' (CPU budget)') for name in metrics)
        model_cfg = Config.fromfile(osp.join(REPO, entry['Config'])).model
        key = repr(model_cfg.backbone)
        if key not in n_params:
            n_params[key] = sum(p.numel() for p in MODELS.build(model_cfg).parameters())
        assert entry['Metadata']['Parameters'] == n_params[key]
