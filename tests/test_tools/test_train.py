"""tools/train.py trains, validates, resumes and fails clearly, on synthetic data;
TensorBoard as an optional visualizer backend logs the same scalars."""
import glob
import json
import os.path as osp
import re

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import cifar_plugins  # noqa: F401  (allowlists mmengine checkpoint types)
from cifar_plugins.analysis import load_run
from helpers import REPO, python_tool, tiny_options

QUICK = 'configs/fastcifarnet_per_sample_cifar10.py'


def scalars(work_dir):
    """Rows of mmengine's scalars.json of the newest run in work_dir."""
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    with open(files[-1]) as f:
        return [json.loads(line) for line in f]


def test_train_writes_checkpoints_and_validates(trained):
    assert osp.isfile(osp.join(trained, 'epoch_1.pth'))
    assert osp.isfile(osp.join(trained, 'epoch_2.pth'))
    rows = scalars(trained)
    assert any('accuracy/top1' in r for r in rows)
    losses = [r['loss'] for r in rows if 'loss' in r]
    assert len(losses) == 20 and all(l == l for l in losses)  # 2 epochs x 10 iters, no NaN


def test_checkpoint_is_weights_only_loadable(trained):
    ckpt = torch.load(osp.join(trained, 'epoch_2.pth'), weights_only=True)
    assert ckpt['meta']['epoch'] == 2 and 'message_hub' in ckpt
    assert any(k.startswith('backbone.') for k in ckpt['state_dict'])


def test_resume_continues_from_last_epoch(trained, cifar10_root):
    out = python_tool('tools/train.py', QUICK, '--work-dir', trained, '--resume',
                      '--cfg-options', *tiny_options(cifar10_root, max_epochs=3))
    assert out.returncode == 0, out.stderr[-3000:]
    log = out.stdout + out.stderr
    assert 'resumed epoch: 2' in log
    assert 'Epoch(train) [1]' not in log.split('resumed epoch: 2')[1]
    assert osp.isfile(osp.join(trained, 'epoch_3.pth'))
    assert torch.load(osp.join(trained, 'epoch_3.pth'), weights_only=True)['meta']['iter'] == 30


@pytest.mark.parametrize('override,expected', [
    ('model.backbone.type=NoSuchNet', 'unknown module type.*NoSuchNet'),
    ('model.head.num_classes=100', 'Inconsistent number of classes'),
])
def test_bad_config_is_one_clear_error(tmp_path, cifar10_root, override, expected):
    out = python_tool('tools/train.py', QUICK, '--work-dir', str(tmp_path), '--cfg-options',
                      *tiny_options(cifar10_root), override)
    assert out.returncode == 1
    assert re.search(expected, out.stderr) and 'Traceback' not in out.stderr


def test_missing_data_is_one_clear_error(tmp_path):
    out = python_tool('tools/train.py', QUICK, '--work-dir', str(tmp_path / 'w'),
                      '--cfg-options', *tiny_options(str(tmp_path / 'no_data')))
    assert out.returncode == 1
    assert 'no_data' in out.stderr and 'prepare_cifar.py' in out.stderr
    assert 'Traceback' not in out.stderr


BASE = 'fastcifarnet_per_sample_cifar10.py'


@pytest.fixture(scope='module')
def tensorboard_run(tmp_path_factory, cifar10_root):
    tmp = tmp_path_factory.mktemp('tb_run')
    config = tmp / 'quickstart_tensorboard.py'
    config.write_text(
        f"_base_ = ['{osp.join(REPO, 'configs', BASE)}']\n"
        "vis_backends = [dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')]\n"
        "visualizer = dict(vis_backends=vis_backends)\n")
    work_dir = str(tmp / 'work')
    out = python_tool('tools/train.py', str(config), '--work-dir', work_dir, '--cfg-options',
                      *tiny_options(cifar10_root, max_epochs=2), 'train_cfg.val_interval=1')
    assert out.returncode == 0, out.stderr[-3000:]
    return work_dir


def test_tensorboard_logs_the_same_scalars_as_the_json_log(tensorboard_run):
    events = glob.glob(osp.join(tensorboard_run, '*', 'vis_data', 'events.out.tfevents.*'))
    assert len(events) == 1
    acc = EventAccumulator(events[0])
    acc.Reload()
    tags = set(acc.Tags()['scalars'])
    assert {'loss', 'lr', 'accuracy/top1', 'accuracy/top5', 'val/cross_entropy'} <= tags

    run = load_run(tensorboard_run)
    logged_ce = [e.value for e in acc.Scalars('val/cross_entropy')]
    logged_top1 = [e.value for e in acc.Scalars('accuracy/top1')]
    assert logged_ce == pytest.approx([e.val_loss for e in run.val_epochs], rel=1e-5)
    assert logged_top1 == pytest.approx([e.top1 for e in run.val_epochs], rel=1e-5)
