"""Run directories for the tests that read training runs, made once per session.

``trained_run`` trains the quickstart config for 2 epochs (validating after
each) on the synthetic CIFAR-10 of the ``cifar10_root`` fixture; it is cached
for the whole pytest process so the analysis tests (tests/test_analysis,
tests/test_tools/test_analysis), the inference tests and the ValLoss tests share
one training. ``resume_runs`` trains the stop-and-resume runs of the
RNGStateHook and StaleTempHook tests once. ``write_fake_run`` writes a run
directory by hand with known numbers, so parsed values can be checked exactly.
"""
import json
import os
import os.path as osp
import shutil

from helpers import python_tool, tiny_options

QUICK = 'configs/fastcifarnet_per_sample_cifar10.py'
TRAINED_EPOCHS = 2
_CACHE = {}
_RESUME_CACHE = {}


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


def train_resumable(work_dir, data_root, max_epochs, *extra, resume=False):
    """Train the quickstart config in a new process, as a resumed run needs it."""
    # augmentation on (batch crop + flip from the global torch RNG), validation
    # between epochs, a persistent DataLoader worker: all the ways a resumed
    # run's random streams could drift from the uninterrupted one's
    opts = tiny_options(data_root, max_epochs=4, extra=[
        'train_cfg.val_interval=1', 'randomness.deterministic=True',
        'train_dataloader.num_workers=1', 'train_dataloader.persistent_workers=True',
        'default_hooks.checkpoint.save_best=None', *extra])
    opts = [o for o in opts if not o.startswith('train_cfg.max_epochs=')]
    opts.append(f'train_cfg.max_epochs={max_epochs}')
    args = ['tools/train.py', QUICK, '--work-dir', str(work_dir), '--cfg-options', *opts]
    if resume:
        args.append('--resume')
    out = python_tool(*args, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def resume_runs(tmp_path_factory, data_root):
    """``(full, split, plain, log)``: 4 epochs in one go; 2 epochs, then resumed to 4
    (``log`` is the resumed process's output); the same stop-and-resume without
    the RNGStateHook. Trained once per ``data_root``."""
    if data_root not in _RESUME_CACHE:
        base = tmp_path_factory.mktemp('resume')
        full, split, plain = base / 'full', base / 'split', base / 'plain'
        train_resumable(full, data_root, 4)
        train_resumable(split, data_root, 2)
        # the second half reads the checkpoint from disk, in a new process
        log = train_resumable(split, data_root, 4, resume=True)
        # the same stop-and-resume without the hook: must drift (else this test is void)
        train_resumable(plain, data_root, 2, 'default_hooks.rng_state=None')
        train_resumable(plain, data_root, 4, 'default_hooks.rng_state=None', resume=True)
        _RESUME_CACHE[data_root] = (full, split, plain, log)
    return _RESUME_CACHE[data_root]
