"""Helpers to run the project's tools on small data in tests."""
import os
import os.path as osp
import subprocess
import sys

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def tiny_options(data_root, max_epochs=1, batch_size=20, extra=()):
    """--cfg-options that point a config at ``data_root`` and make it tiny."""
    opts = [f'train_cfg.max_epochs={max_epochs}', f'train_cfg.val_interval={max_epochs}',
            'default_hooks.logger.interval=1', 'default_hooks.checkpoint.interval=1',
            'default_hooks.checkpoint.max_keep_ckpts=5']
    for split in ('train', 'val', 'test'):
        opts += [f'{split}_dataloader.dataset.data_root={data_root}',
                 f'{split}_dataloader.dataset.download=False',
                 f'{split}_dataloader.batch_size={batch_size}',
                 f'{split}_dataloader.num_workers=0',
                 f'{split}_dataloader.persistent_workers=False']
    return opts + list(extra)


def run_tool(args, timeout=600, env=None):
    """Run a command from the repo root with this interpreter's environment."""
    full_env = dict(os.environ, PYTHONWARNINGS='ignore', OMP_NUM_THREADS='1')
    full_env.update(env or {})
    bin_dir = osp.dirname(sys.executable)
    full_env['PATH'] = bin_dir + os.pathsep + full_env.get('PATH', '')
    return subprocess.run(args, cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, env=full_env)


def python_tool(script, *args, **kwargs):
    return run_tool([sys.executable, script, *args], **kwargs)
