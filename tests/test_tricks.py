"""Training tricks: CIFAR augmentation policies, batch Cutout, dropout head,
the configs in configs/tricks and early stopping."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from mmpretrain.structures import DataSample

import cifar_plugins  # noqa: F401
from cifar_plugins.datasets.transforms import (CIFAR10_AUTOAUG_POLICY, CIFAR_RANDAUG_POLICY,
                                               autoaugment_op)
from cifar_plugins.models import CIFARDataPreprocessor, batch_cutout
from cifar_plugins.registry import DATASETS, MODELS, TRANSFORMS
from helpers import REPO

TRICKS = osp.join(REPO, 'configs', 'tricks')


def tricks_cfg(name):
    return Config.fromfile(osp.join(TRICKS, f'{name}.py'))


# ---------------------------------------------------------------- augmentation policies

def test_cifar10_autoaugment_policy_builds_and_transforms():
    assert len(CIFAR10_AUTOAUG_POLICY) == 25
    assert all(len(sub) == 2 for sub in CIFAR10_AUTOAUG_POLICY)
    assert all(TRANSFORMS.get(op['type']) is not None
               for sub in CIFAR10_AUTOAUG_POLICY for op in sub)
    transform = TRANSFORMS.build(dict(type='AutoAugment', policies='cifar10'))
    assert len(transform.transforms) == 25
    np.random.seed(0)  # mmcv transforms draw from numpy's global generator
    img = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    changed = 0
    for _ in range(40):
        out = transform({'img': img.copy()})['img']
        assert out.shape == (32, 32, 3) and out.dtype == np.uint8
        changed += not np.array_equal(out, img)
    assert changed > 10  # about 60% of the draws change a noise image


def test_autoaugment_magnitude_mapping():
    # (Rotate, 0.7, 2), (TranslateX, 0.3, 9): 30 deg * 2/9 and 150/331 of the width
    rotate, translate = CIFAR10_AUTOAUG_POLICY[1]
    assert rotate == dict(type='Rotate', angle=pytest.approx(20 / 3), prob=0.7)
    assert translate['type'] == 'Translate' and translate['direction'] == 'horizontal'
    assert translate['magnitude'] == pytest.approx(0.4532, abs=1e-4)
    # (ShearY, 0.2, 7), (Posterize, 0.3, 7): shear 0.3 * 7/9, 8 - 28/9 = 4.9 -> 5 bits
    shear, posterize = CIFAR10_AUTOAUG_POLICY[5]
    assert shear['direction'] == 'vertical' and shear['magnitude'] == pytest.approx(0.2333, 1e-3)
    assert posterize == dict(type='Posterize', bits=5, prob=0.3)
    # (Solarize, 0.5, 2): threshold 256 * 7/9; (Color, 0.7, 7): factor 1 +- 0.7
    assert CIFAR10_AUTOAUG_POLICY[14][0]['thr'] == pytest.approx(199.11, abs=0.01)
    assert CIFAR10_AUTOAUG_POLICY[10][0] == dict(type='ColorTransform',
                                                 magnitude=pytest.approx(0.7), prob=0.7)
    assert autoaugment_op('Equalize', 0.6, None) == dict(type='Equalize', prob=0.6)
    with pytest.raises(ValueError, match='magnitude level in 0..9'):
        autoaugment_op('Rotate', 0.5, 10)
    with pytest.raises(ValueError, match='Unknown AutoAugment operation'):
        autoaugment_op('Zoom', 0.5, 3)


def test_cifar_randaugment_policy_builds_and_transforms():
    types = {op['type'] for op in CIFAR_RANDAUG_POLICY}
    # the RandAugment paper's operations except Identity, in mmpretrain's names
    assert types == {'AutoContrast', 'Equalize', 'Rotate', 'Solarize', 'ColorTransform',
                     'Posterize', 'Contrast', 'Brightness', 'Sharpness', 'Shear', 'Translate'}
    assert len(CIFAR_RANDAUG_POLICY) == 13
    transform = TRANSFORMS.build(
        dict(type='RandAugment', policies='cifar', num_policies=3, magnitude_level=5))
    img = np.random.default_rng(1).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    for _ in range(20):
        out = transform({'img': img.copy()})['img']
        assert out.shape == (32, 32, 3) and out.dtype == np.uint8


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


# ---------------------------------------------------------------- Cutout

def zero_box(mask):
    """Rows and columns spanned by the True entries; checks they form a rectangle."""
    rows = torch.nonzero(mask.any(1)).flatten()
    cols = torch.nonzero(mask.any(0)).flatten()
    assert len(rows) and len(cols)
    assert rows[-1] - rows[0] + 1 == len(rows) and cols[-1] - cols[0] + 1 == len(cols)
    box = torch.zeros_like(mask)
    box[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1] = True
    assert torch.equal(box, mask)  # exactly the rectangle, nothing else
    return rows, cols


@pytest.mark.parametrize('size', [16, 5])
def test_batch_cutout_zeroes_one_clipped_square_per_sample(size):
    n, h, w = 256, 32, 32
    x = torch.randint(1, 256, (n, 3, h, w), dtype=torch.uint8)
    out = batch_cutout(x, size, generator=torch.Generator().manual_seed(0))
    assert out.dtype == torch.uint8 and out.shape == x.shape
    zero = out == 0
    assert torch.equal(zero, zero[:, :1].expand_as(zero))  # same square in every channel
    assert torch.equal(out[~zero], x[~zero])
    full = clipped = 0
    for i in range(n):
        rows, cols = zero_box(zero[i, 0])
        for span, extent in ((rows, h), (cols, w)):
            at_border = span[0] == 0 or span[-1] == extent - 1
            # the centre lies inside the image, so at least half the square remains
            assert len(span) == size or (at_border and size // 2 <= len(span) < size)
        if len(rows) == len(cols) == size:
            full += 1
        else:
            clipped += 1
    assert full > 0 and clipped > 0


def test_batch_cutout_fill_per_channel_and_bad_size():
    x = torch.full((4, 3, 8, 8), 9.0)
    out = batch_cutout(x, 4, fill=torch.tensor([1.0, 2.0, 3.0]))
    for c, value in enumerate((1.0, 2.0, 3.0)):
        assert ((out[:, c] == value) == (out[:, 0] == 1.0)).all()
    assert (out[:, 0] == 1.0).any() and torch.equal(batch_cutout(x, 0), x)
    with pytest.raises(ValueError, match='cutout size must be >= 0'):
        batch_cutout(x, -1)


@pytest.mark.parametrize('to_rgb', [False, True])
def test_preprocessor_cutout_hole_is_zero_after_normalisation(to_rgb):
    mean, std = [100.5, 110.0, 120.25], [2.0, 4.0, 8.0]
    pre = CIFARDataPreprocessor(mean=mean, std=std, to_rgb=to_rgb, num_classes=10,
                                crop_padding=0, flip_prob=0, cutout_size=8)
    x = torch.randint(0, 256, (16, 3, 32, 32), dtype=torch.uint8)
    expected = x.float().flip(1) if to_rgb else x.float()
    expected = (expected - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    out = pre({'inputs': x, 'data_samples': None}, training=True)['inputs']
    hole = (out == 0).all(1)
    for i in range(16):
        rows, cols = zero_box(hole[i])
        assert len(rows) <= 8 and len(cols) <= 8
    keep = ~hole[:, None].expand_as(out)
    torch.testing.assert_close(out[keep], expected[keep])
    test = pre({'inputs': x, 'data_samples': None}, training=False)['inputs']
    torch.testing.assert_close(test, expected)  # no Cutout at test time
    with pytest.raises(ValueError, match='cutout_size must be >= 0'):
        CIFARDataPreprocessor(cutout_size=-2)


def test_cutout_config_switches_it_on():
    cfg = tricks_cfg('cutout')
    assert cfg.data_preprocessor.cutout_size == 16
    pre = MODELS.build(cfg.data_preprocessor)
    assert pre.cutout_size == 16 and pre.crop_padding == 4


# ---------------------------------------------------------------- heads and backbones

def test_dropout_head_drops_in_train_mode_only():
    head = MODELS.build(dict(type='DropoutLinearClsHead', num_classes=2000, in_channels=2000,
                             dropout_rate=0.5))
    assert sum(p.numel() for p in head.parameters()) == 2000 * 2000 + 2000  # = LinearClsHead
    with torch.no_grad():
        head.fc.weight.copy_(torch.eye(2000))
        head.fc.bias.zero_()
    feats = (torch.rand(4, 2000) + 1.0,)
    head.train()
    out = head(feats)
    dropped = out == 0
    assert 0.4 < dropped.float().mean() < 0.6
    torch.testing.assert_close(out[~dropped], 2 * feats[0][~dropped])  # kept, scaled by 1/(1-p)
    head.eval()
    torch.testing.assert_close(head(feats), feats[0])
    torch.testing.assert_close(head.pre_logits(feats), feats[0])
    with pytest.raises(ValueError, match=r'dropout_rate must be in \[0, 1\)'):
        MODELS.build(dict(type='DropoutLinearClsHead', num_classes=10, in_channels=8,
                          dropout_rate=1.0))


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


# ---------------------------------------------------------------- schedule / hooks configs

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


def frozen_early_stopping_cfg(work_dir, data_root, max_epochs, patience):
    """The early-stopping trick on a tiny ResNet whose accuracy never changes
    (lr 0, frozen BatchNorm statistics), validating and saving every epoch."""
    cfg = tricks_cfg('early_stopping')
    cfg.work_dir = str(work_dir)
    cfg.model.backbone.update(base_channels=4, stem_channels=4, norm_eval=True)
    cfg.model.head.in_channels = 32
    cfg.optim_wrapper.optimizer.lr = 0.0
    cfg.custom_hooks[0].patience = patience
    cfg.train_cfg.update(max_epochs=max_epochs, val_interval=1)
    for split in ('train', 'val', 'test'):
        loader = cfg[f'{split}_dataloader']
        loader.update(batch_size=50, num_workers=0, persistent_workers=False)
        loader.dataset.update(data_root=data_root, download=False, indices=50)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1, save_best=None)
    return cfg


def test_early_stopping_stops_a_run_that_does_not_improve(tmp_path, cifar10_root):
    runner = Runner.from_cfg(frozen_early_stopping_cfg(tmp_path, cifar10_root, 6, 2))
    runner.train()
    # epoch 1 sets the best score, epochs 2 and 3 do not improve: stop after 3 of 6
    assert runner.train_loop.stop_training
    assert runner.epoch == 3


def test_early_stopping_count_survives_resume(tmp_path, cifar10_root):
    from cifar_plugins.compat import safe_load_from_local

    Runner.from_cfg(frozen_early_stopping_cfg(tmp_path, cifar10_root, 3, 3)).train()
    # epoch_3.pth is written before validation 3: best from validation 1, one miss (2)
    state = safe_load_from_local(str(tmp_path / 'epoch_3.pth'))['early_stopping']
    assert state['monitor'] == 'accuracy/top1' and state['wait_count'] == 1
    cfg = frozen_early_stopping_cfg(tmp_path, cifar10_root, 8, 3)
    cfg.resume = True
    runner = Runner.from_cfg(cfg)
    runner.train()
    # the count goes on from 1: validations 4 and 5 make 3 misses -> stop after epoch 5
    # (a count restarted at resume would set a new best at 4 and stop only after 7)
    assert runner.train_loop.stop_training and runner.epoch == 5


def test_early_stopping_state_is_not_restored_by_load_from(tmp_path, cifar10_root):
    Runner.from_cfg(frozen_early_stopping_cfg(tmp_path / 'a', cifar10_root, 3, 3)).train()
    cfg = frozen_early_stopping_cfg(tmp_path / 'b', cifar10_root, 4, 3)
    cfg.load_from = str(tmp_path / 'a' / 'epoch_3.pth')
    runner = Runner.from_cfg(cfg)
    runner.train()
    # a fresh count: best at validation 1, misses at 2-4 -> stops after epoch 4
    # (the stored count of 1 would have stopped it after epoch 2)
    assert runner.train_loop.stop_training and runner.epoch == 4


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
