"""Run directories for the analysis/inference tests, made once per session.

``trained_run`` trains the quickstart config for 2 epochs (validating after
each) on the synthetic CIFAR-10 of the ``cifar10_root`` fixture; it is cached
for the whole pytest process so test_analysis, test_inference and
test_val_loss share one training. ``write_fake_run`` writes a run directory
by hand with known numbers, so parsed values can be checked exactly.
"""
import json
import os
import os.path as osp
import shutil

from helpers import python_tool, tiny_options

QUICK = 'configs/fastcifarnet_per_sample_cifar10.py'
TRAINED_EPOCHS = 2
_CACHE = {}


def trained_run(tmp_path_factory, data_root):
    """Work dir of a 2-epoch quickstart run on ``data_root`` (trained once)."""
    if data_root not in _CACHE:
        work_dir = str(tmp_path_factory.mktemp('quick_run'))
        out = python_tool('tools/train.py', QUICK, '--work-dir', work_dir, '--cfg-options',
                          *tiny_options(data_root, max_epochs=TRAINED_EPOCHS),
                          'train_cfg.val_interval=1')
        assert out.returncode == 0, out.stderr[-3000:]
        _CACHE[data_root] = work_dir
    return _CACHE[data_root]


def write_fake_run(run_dir, sessions, config_src=None, config_name='fake_cfg'):
    """Write an mmengine-like run directory.

    Args:
        run_dir (str): Folder to create.
        sessions (list[tuple[str, list[dict], tuple[str, str]]]): For each
            session its timestamp name, its scalars.json rows and the first and
            last log-line times (``'2024/01/01 10:00:00'``).
        config_src (str, optional): A config file copied as the run's config.
        config_name (str): Name of the config copy in the run folder.
    """
    os.makedirs(run_dir, exist_ok=True)
    for stamp, rows, (start, end) in sessions:
        vis = osp.join(run_dir, stamp, 'vis_data')
        os.makedirs(vis, exist_ok=True)
        with open(osp.join(vis, 'scalars.json'), 'w') as f:
            f.writelines(json.dumps(r) + '\n' for r in rows)
        with open(osp.join(run_dir, stamp, f'{stamp}.log'), 'w') as f:
            f.write(f'{start} - mmengine - INFO - start\nno timestamp on this line\n'
                    f'{end} - mmengine - INFO - end\n')
        if config_src:
            shutil.copy(config_src, osp.join(vis, 'config.py'))
    if config_src:
        shutil.copy(config_src, osp.join(run_dir, f'{config_name}.py'))
    return run_dir


def train_row(epoch, it, loss):
    return dict(lr=0.1, loss=loss, time=0.1, data_time=0.01, epoch=epoch, iter=it, step=it)


def val_row(epoch, top1, top5, ce):
    return {'accuracy/top1': top1, 'accuracy/top5': top5, 'val/cross_entropy': ce,
            'data_time': 0.01, 'time': 0.1, 'step': epoch}
