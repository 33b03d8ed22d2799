"""Run a list of configs one after another (or as cluster jobs) and tabulate
them."""
import os
import os.path as osp
import subprocess
import sys
import time

from mmengine.config import Config

REPO_TOOLS = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'tools')
DONE_MARKER = 'SWEEP_DONE'


def derive_config(config, schedule, out_path, overrides=()):
    """Write ``config`` with the keys of the ``schedule`` and ``overrides``
    files replaced.

    Top-level keys of the schedule file (``param_scheduler``, ``train_cfg``...)
    replace the config's wholesale, so a list of schedulers is never merged
    element-wise into a different one. The ``overrides`` files are applied the
    same way afterwards, e.g. a dataset base file to train CIFAR-100 configs on
    CIFAR-10 (its dataloaders, data_preprocessor and evaluators replace the
    config's; the head's ``num_classes`` then goes through ``cfg_options``).
    """
    cfg = Config.fromfile(config)
    for replacement in [schedule, *overrides]:
        if replacement:
            for key, value in Config.fromfile(replacement).to_dict().items():
                cfg[key] = value
    os.makedirs(osp.dirname(out_path), exist_ok=True)
    cfg.dump(out_path)
    return out_path


def train_command(cfg_path,
                  work_dir,
                  launcher='none',
                  nproc=1,
                  partition=None,
                  job_name=None,
                  cfg_options=(),
                  port=29500):
    """The command line that trains ``cfg_path`` into ``work_dir``."""
    extra = ['--cfg-options', *cfg_options] if cfg_options else []
    if launcher == 'none':
        return [
            sys.executable,
            osp.join(REPO_TOOLS, 'train.py'), cfg_path, '--work-dir', work_dir,
            *extra
        ], {}
    if launcher == 'dist':
        return [
            'bash',
            osp.join(REPO_TOOLS, 'dist_train.sh'), cfg_path,
            str(nproc), '--work-dir', work_dir, *extra
        ], {
            'PORT': str(port),
            'PYTHON': sys.executable
        }
    if launcher == 'slurm':
        if not partition:
            raise ValueError('--launcher slurm needs --partition')
        return [
            'bash',
            osp.join(REPO_TOOLS, 'slurm_train.sh'), partition, job_name,
            cfg_path, work_dir, *extra
        ], {
            'GPUS': str(nproc)
        }
    raise ValueError(f'unknown launcher {launcher!r}')


def run_sweep(configs,
              work_root,
              schedule=None,
              cfg_options=(),
              launcher='none',
              nproc=1,
              partition=None,
              max_parallel=1,
              force=False,
              log=print,
              overrides=()):
    """Train each config into ``work_root/<config name>``; return the names
    that failed.

    A run that finished before (marker file) is skipped unless ``force``, so an
    interrupted sweep continues where it stopped. A failing config is logged
    and the sweep goes on with the next. Runs go one at a time, except
    ``slurm`` jobs, which go ``max_parallel`` at a time.
    """
    jobs = []
    for i, config in enumerate(configs):
        if not osp.isfile(config):
            raise FileNotFoundError(f'Config not found: {config}')
        name = osp.splitext(osp.basename(config))[0]
        work_dir = osp.join(work_root, name)
        if osp.isfile(osp.join(work_dir, DONE_MARKER)) and not force:
            log(f'[{i + 1}/{len(configs)}] {name}: finished before, skipped '
                '(--force reruns)')
            continue
        cfg_path = derive_config(config, schedule,
                                 osp.join(work_dir, f'{name}.py'), overrides)
        cmd, env = train_command(
            cfg_path,
            work_dir,
            launcher,
            nproc,
            partition,
            name,
            cfg_options,
            port=29500 + i)
        jobs.append((i, name, work_dir, cmd, env))

    failed, running = [], []

    def finish(job, proc, start, log_file):
        i, name, work_dir, *_ = job
        proc.wait()
        log_file.close()
        took = time.time() - start
        if proc.returncode == 0:
            with open(osp.join(work_dir, DONE_MARKER), 'w') as f:
                f.write(f'{took:.0f}\n')
            log(f'[{i + 1}/{len(configs)}] {name}: done in '
                f'{took / 60:.1f} min')
        else:
            failed.append(name)
            sweep_log = osp.join(work_dir, 'sweep.log')
            log(f'[{i + 1}/{len(configs)}] {name}: FAILED '
                f'(exit {proc.returncode}), see {sweep_log}')

    parallel = max_parallel if launcher == 'slurm' else 1
    for job in jobs:
        i, name, work_dir, cmd, env = job
        log(f'[{i + 1}/{len(configs)}] {name}: training '
            f'({" ".join(cmd[:3])} ...)')
        log_file = open(osp.join(work_dir, 'sweep.log'), 'w')
        proc = subprocess.Popen(
            cmd,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=dict(os.environ, **env))
        running.append((job, proc, time.time(), log_file))
        while len(running) >= parallel:
            finish(*running.pop(0))
    while running:
        finish(*running.pop(0))
    return failed
