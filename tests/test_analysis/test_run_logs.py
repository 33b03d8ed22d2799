"""cifar_plugins.analysis.run_logs: runs parsed from mmengine work dirs."""
import json
import os.path as osp

import pytest

import cifar_plugins  # noqa: F401
from cifar_plugins.analysis import (RunDirError, collect_results, find_checkpoint, find_runs,
                                    load_run, load_runs)
from tiny_runs import TRAINED_EPOCHS


def test_load_run_merges_resumed_sessions(fake_runs):
    run = load_run(fake_runs['resumed'])
    assert [e.epoch for e in run.epochs] == [1, 2, 3]
    assert [e.train_loss for e in run.epochs] == pytest.approx([1.7, 0.8, 0.5])
    assert [e.val_loss for e in run.epochs] == pytest.approx([2.5, 1.9, 1.8])
    assert [e.val_error for e in run.epochs] == pytest.approx([70.0, 55.0, 56.0])
    assert (run.best.epoch, run.best.top1, run.best.top5) == (2, 45.0, 85.0)
    assert (run.last.epoch, run.last.top1, run.last.top5) == (3, 44.0, 90.0)
    assert run.wall_time == 600 + 330  # the test-only session is not training time
    assert run.config_name == 'fake_cfg' and run.trained_epochs == 3


def test_load_run_of_a_real_training(run_dir):
    run = load_run(run_dir)
    with open(sorted(run.sessions)[-1] + '/vis_data/scalars.json') as f:
        rows = [json.loads(line) for line in f]
    val = [r for r in rows if 'accuracy/top1' in r]
    assert [e.epoch for e in run.epochs] == list(range(1, TRAINED_EPOCHS + 1))
    assert [e.top1 for e in run.epochs] == [r['accuracy/top1'] for r in val]
    assert [e.val_loss for e in run.epochs] == [r['val/cross_entropy'] for r in val]
    epoch1 = [r['loss'] for r in rows if r.get('epoch') == 1 and 'loss' in r]
    assert run.epochs[0].train_loss == pytest.approx(sum(epoch1) / len(epoch1))
    assert run.config_name == 'fastcifarnet_per_sample_cifar10'
    assert run.wall_time > 0
    assert find_checkpoint(run_dir, 'last') == osp.join(run_dir, f'epoch_{TRAINED_EPOCHS}.pth')
    # the quickstart saves no best checkpoint: 'best' falls back to the last one
    assert find_checkpoint(run_dir, 'best') == find_checkpoint(run_dir, 'last')


def test_find_runs_and_bad_run_dirs(fake_runs, tmp_path):
    assert find_runs(fake_runs['root']) == [fake_runs['plain'], fake_runs['resumed']]
    with pytest.raises(RunDirError, match='not an mmengine run directory'):
        load_run(str(tmp_path))
    with pytest.raises(RunDirError, match='No training runs'):
        collect_results([str(tmp_path)])
    with pytest.raises(ValueError, match='one label per run'):
        load_runs([fake_runs['plain']], labels=['a', 'b'])
