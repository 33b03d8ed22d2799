"""SWAHook: exact averaging, recomputed BatchNorm, checkpoints and resume."""
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner
from torch.optim.swa_utils import update_bn

import cifar_plugins  # noqa: F401
from cifar_plugins.engine.hooks import SWAHook
from cifar_plugins.registry import HOOKS
from helpers import REPO, python_tool, tiny_options

MAX_EPOCHS, BEGIN = 4, 2


class SnapshotHook(Hook):
    """Keeps a copy of the running weights at the end of every epoch."""

    priority = 'LOW'

    def __init__(self):
        self.snapshots = []

    def after_train_epoch(self, runner):
        self.snapshots.append(copy.deepcopy(runner.model.state_dict()))


def tiny_cfg(data_root, work_dir, max_epochs=MAX_EPOCHS, resume=False):
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', 'fastcifarnet_per_sample_cifar10.py'))
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = f'swa_{osp.basename(str(work_dir))}_{max_epochs}_{resume}'
    cfg.model.backbone.update(widths=(8, 8, 8), stem_channels=8)
    cfg.model.head.in_channels = 8
    # deterministic batches, so a BatchNorm reference pass sees the same data
    cfg.model.data_preprocessor = dict(cfg.data_preprocessor, crop_padding=0, flip_prob=0,
                                       channels_last=False)
    cfg.train_cfg.update(max_epochs=max_epochs, val_interval=1)
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=True)]
    for split in ('train', 'val', 'test'):
        loader = cfg[f'{split}_dataloader']
        loader.update(batch_size=20, num_workers=0, persistent_workers=False)
        loader.dataset.update(data_root=data_root, download=False)
    cfg.train_dataloader.sampler.shuffle = False
    cfg.default_hooks.checkpoint.update(interval=1, max_keep_ckpts=10, save_best=None)
    cfg.default_hooks.logger.interval = 5
    cfg.custom_hooks = [dict(type='SWAHook', begin_epoch=BEGIN)]
    cfg.resume = resume
    return cfg


def swa_hook(runner):
    return next(h for h in runner.hooks if isinstance(h, SWAHook))


@pytest.fixture(scope='module')
def swa_run(tmp_path_factory, cifar10_root):
    work_dir = tmp_path_factory.mktemp('swa')
    runner = Runner.from_cfg(tiny_cfg(cifar10_root, work_dir))
    snapshots = SnapshotHook()
    runner.register_hook(snapshots)
    runner.train()
    return runner, snapshots.snapshots, work_dir


def test_averaged_weights_are_the_mean_of_epoch_snapshots(swa_run):
    runner, snapshots, _ = swa_run
    hook = swa_hook(runner)
    assert len(snapshots) == MAX_EPOCHS and hook.num_averaged == MAX_EPOCHS - BEGIN + 1
    averaged = dict(hook.swa_model.module.named_parameters())
    for name, param in runner.model.named_parameters():
        mean = torch.stack([s[name] for s in snapshots[BEGIN - 1:]]).mean(0)
        torch.testing.assert_close(averaged[name], mean)
        # the running model is back in place after validation
        torch.testing.assert_close(param, snapshots[-1][name])
    # the average really differs from the last weights
    assert not torch.allclose(averaged['backbone.stem.0.weight'],
                              snapshots[-1]['backbone.stem.0.weight'])


def test_batchnorm_statistics_are_recomputed(swa_run):
    runner, snapshots, _ = swa_run
    averaged = swa_hook(runner).swa_model.module
    reference = copy.deepcopy(runner.model)
    for name, param in reference.named_parameters():
        param.data.copy_(torch.stack([s[name] for s in snapshots[BEGIN - 1:]]).mean(0))
    batches = [reference.data_preprocessor(b, True)['inputs'] for b in runner.train_dataloader]
    update_bn(batches, reference)  # torch's own implementation as the reference
    last_model = dict(runner.model.named_buffers())
    checked = 0
    for name, buf in averaged.named_buffers():
        if name.endswith(('running_mean', 'running_var')):
            torch.testing.assert_close(buf, dict(reference.named_buffers())[name])
            assert not torch.allclose(buf, last_model[name])
            checked += 1
    assert checked >= 4


def test_checkpoint_holds_averaged_and_running_weights(swa_run):
    runner, snapshots, work_dir = swa_run
    averaged = swa_hook(runner).swa_model.module.state_dict()
    ckpt = torch.load(osp.join(work_dir, f'epoch_{MAX_EPOCHS}.pth'), weights_only=True)
    for key, value in ckpt['state_dict'].items():
        torch.testing.assert_close(value, averaged[key])
        torch.testing.assert_close(ckpt['swa_state_dict']['module.' + key], snapshots[-1][key])
    assert int(ckpt['swa_state_dict']['steps']) == MAX_EPOCHS - BEGIN + 1
    before = torch.load(osp.join(work_dir, f'epoch_{BEGIN - 1}.pth'), weights_only=True)
    assert 'swa_state_dict' not in before


def test_validation_uses_the_averaged_model(swa_run):
    runner, _, _ = swa_run
    hook = swa_hook(runner)
    seen = {}

    def grab(module, args, output):
        seen['weight'] = module.weight.detach().clone()

    handle = runner.model.head.fc.register_forward_hook(grab)
    try:
        runner.val_loop.run()
    finally:
        handle.remove()
    torch.testing.assert_close(seen['weight'], hook.swa_model.module.head.fc.weight)
    assert not hook._swapped


def test_resume_continues_the_average(swa_run, cifar10_root, tmp_path):
    runner, _, work_dir = swa_run
    hook = swa_hook(runner)
    # a fresh runner resumes epoch 3 (already averaging) and trains epoch 4 again
    resume_dir = tmp_path / 'resumed'
    resume_dir.mkdir()
    cfg = tiny_cfg(cifar10_root, resume_dir, resume=True)
    cfg.load_from = osp.join(work_dir, f'epoch_{MAX_EPOCHS - 1}.pth')
    resumed = Runner.from_cfg(cfg)
    resumed.train()
    again = swa_hook(resumed)
    assert again.num_averaged == hook.num_averaged
    for name, param in again.swa_model.module.named_parameters():
        torch.testing.assert_close(param, dict(hook.swa_model.module.named_parameters())[name])


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match='exactly one of begin_epoch and last_epochs'):
        HOOKS.build(dict(type='SWAHook'))
    with pytest.raises(ValueError, match='positive integer'):
        HOOKS.build(dict(type='SWAHook', last_epochs=0))


@pytest.mark.parametrize('hooks,message', [
    ([dict(type='SWAHook', begin_epoch=2), dict(type='EMAHook')], 'SWAHook and EMAHook'),
    ([dict(type='SWAHook', begin_epoch=MAX_EPOCHS + 1)], 'is after the last epoch'),
])
def test_inconsistent_setups_are_refused(tmp_path, cifar10_root, hooks, message):
    cfg = tiny_cfg(cifar10_root, tmp_path)
    cfg.custom_hooks = hooks
    with pytest.raises(ValueError, match=message):
        Runner.from_cfg(cfg).train()


def test_swa_config_trains_and_validates_with_the_tools(tmp_path, cifar10_root):
    work_dir = str(tmp_path / 'swa_tool')
    small = ['model.backbone.base_channels=4', 'model.backbone.stem_channels=4',
             'model.head.in_channels=32', 'train_dataloader.dataset.indices=40',
             'val_dataloader.dataset.indices=20', 'custom_hooks.0.begin_epoch=1']
    out = python_tool('tools/train.py', 'configs/tricks/swa.py', '--work-dir', work_dir,
                      '--cfg-options', *tiny_options(cifar10_root, max_epochs=2, batch_size=10),
                      *small)
    assert out.returncode == 0, out.stderr[-3000:]
    log = out.stdout + out.stderr
    assert 'SWA: epochs averaged: 1' in log and 'SWA: epochs averaged: 2' in log
    assert 'Epoch(val) [2]' in log
    ckpt = torch.load(osp.join(work_dir, 'epoch_2.pth'), weights_only=True)
    assert int(ckpt['swa_state_dict']['steps']) == 2
