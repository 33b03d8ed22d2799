"""TensorBoard as an optional visualizer backend: the same scalars as scalars.json."""
import glob
import os.path as osp

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from cifar_plugins.analysis import load_run
from helpers import REPO, python_tool, tiny_options

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
