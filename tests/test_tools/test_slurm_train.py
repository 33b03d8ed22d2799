"""tools/slurm_train.sh through a stand-in srun."""
import os.path as osp

import cifar_plugins  # noqa: F401  (allowlists mmengine checkpoint types)
from helpers import run_tool, tiny_options

QUICK = 'configs/fastcifarnet_per_sample_cifar10.py'


def test_slurm_train_script_runs_a_cpu_task(tmp_path, cifar10_root):
    """slurm_train.sh through a stand-in ``srun`` that runs one task locally with
    the variables Slurm sets: exercises the CPU path of the slurm launcher."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    args_file = tmp_path / 'srun_args'
    srun = bin_dir / 'srun'
    srun.write_text(
        '#!/usr/bin/env bash\n'
        f'echo "$@" > {args_file}\n'
        'while [[ "$1" != python ]]; do shift; done\n'  # drop srun's own options
        'export SLURM_PROCID=0 SLURM_NTASKS=1 SLURM_LOCALID=0 SLURM_NODELIST=localhost\n'
        'exec "$@"\n')
    srun.chmod(0o755)
    work_dir = str(tmp_path / 'slurm')
    import os
    out = run_tool(['bash', 'tools/slurm_train.sh', 'cpu', 'job1', QUICK, work_dir,
                    '--cfg-options', *tiny_options(cifar10_root)],
                   env={'GPUS': '0', 'TASKS': '1', 'MASTER_ADDR': '127.0.0.1',
                        'MASTER_PORT': '29613',
                        'PATH': f'{bin_dir}{os.pathsep}{os.environ["PATH"]}'})
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    srun_args = args_file.read_text()
    assert '-p cpu' in srun_args and '--job-name=job1' in srun_args
    assert '--gres' not in srun_args and '--ntasks=1' in srun_args
    assert '--launcher=slurm' in srun_args
    log = out.stdout + out.stderr
    assert 'using the "gloo" backend' in log and 'Distributed launcher: slurm' in log
    assert osp.isfile(osp.join(work_dir, 'epoch_1.pth'))
