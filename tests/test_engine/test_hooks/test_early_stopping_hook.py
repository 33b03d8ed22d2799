"""ResumableEarlyStoppingHook: stops a run that does not improve; its count survives resume."""
import os.path as osp

from mmengine.config import Config
from mmengine.runner import Runner

import cifar_plugins  # noqa: F401
from helpers import REPO

TRICKS = osp.join(REPO, 'configs', 'tricks')


def tricks_cfg(name):
    return Config.fromfile(osp.join(TRICKS, f'{name}.py'))


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
