"""tools/sweep.py trains each config and tabulates the results."""
import csv
import os.path as osp

from mmengine.config import Config

from helpers import python_tool, tiny_options

BUDGET = 'configs/_base_/schedules/budget_cpu.py'


def test_sweep_trains_each_config_and_tabulates(tmp_path, cifar10_root):
    root = str(tmp_path / 'sweep')
    bad = tmp_path / 'broken_cifar10.py'
    bad.write_text("_base_ = ['%s']\nmodel = dict(backbone=dict(type='NoSuchNet'))\n"
                   % osp.abspath('configs/fastcifarnet_per_sample_cifar10.py'))
    opts = [o for o in tiny_options(cifar10_root) if not o.startswith('train_cfg')]
    args = ['configs/fastcifarnet_per_sample_cifar10.py', str(bad),
            '--schedule', BUDGET, '--work-root', root, '--cfg-options', *opts]
    out = python_tool('tools/sweep.py', *args)
    # the broken config fails, the sweep still finishes the other and tabulates it
    assert out.returncode == 1 and 'broken_cifar10' in out.stderr
    assert 'fastcifarnet_per_sample_cifar10: done' in out.stdout
    name = 'fastcifarnet_per_sample_cifar10'
    derived = Config.fromfile(osp.join(root, name, f'{name}.py'))
    assert derived.train_cfg.max_epochs == 3  # the schedule file replaced the config's
    assert [s['type'] for s in derived.param_scheduler] == ['LinearLR', 'CosineAnnealingLR']
    assert derived.optim_wrapper.optimizer.type == 'SGD'  # the config's own optimizer
    with open(osp.join(root, 'results.csv')) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 1 and rows[0]['epochs'] == '3'
    assert 0 <= float(rows[0]['best_top1']) <= 100 and float(rows[0]['params_m']) > 0
    # a re-run skips the finished run
    out = python_tool('tools/sweep.py',
                      'configs/fastcifarnet_per_sample_cifar10.py',
                      '--schedule', BUDGET, '--work-root', root,
                      '--cfg-options', *opts)
    assert out.returncode == 0 and 'finished before, skipped' in out.stdout
