"""End-to-end: the tools train, test, resume, and fail clearly, on synthetic data."""
import glob
import json
import os.path as osp
import re

import pytest
import torch

import cifar_plugins  # noqa: F401  (allowlists mmengine checkpoint types)

from helpers import python_tool, run_tool, tiny_options

QUICK = 'configs/fastcifarnet_per_sample_cifar10.py'


def scalars(work_dir):
    """Rows of mmengine's scalars.json of the newest run in work_dir."""
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    with open(files[-1]) as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope='module')
def trained(tmp_path_factory, cifar10_root):
    work_dir = str(tmp_path_factory.mktemp('run'))
    out = python_tool('tools/train.py', QUICK, '--work-dir', work_dir, '--cfg-options',
                      *tiny_options(cifar10_root, max_epochs=2))
    assert out.returncode == 0, out.stderr[-3000:]
    return work_dir


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


def test_test_tool_reports_accuracy(trained, cifar10_root):
    out = python_tool('tools/test.py', QUICK, osp.join(trained, 'epoch_2.pth'),
                      '--work-dir', osp.join(trained, 'test'), '--cfg-options',
                      *tiny_options(cifar10_root))
    assert out.returncode == 0, out.stderr[-3000:]
    top1 = float(re.search(r'accuracy/top1: ([\d.]+)', out.stdout).group(1))
    assert 0.0 <= top1 <= 100.0


def test_resume_continues_from_last_epoch(trained, cifar10_root):
    out = python_tool('tools/train.py', QUICK, '--work-dir', trained, '--resume',
                      '--cfg-options', *tiny_options(cifar10_root, max_epochs=3))
    assert out.returncode == 0, out.stderr[-3000:]
    log = out.stdout + out.stderr
    assert 'resumed epoch: 2' in log
    assert 'Epoch(train) [1]' not in log.split('resumed epoch: 2')[1]
    assert osp.isfile(osp.join(trained, 'epoch_3.pth'))
    assert torch.load(osp.join(trained, 'epoch_3.pth'), weights_only=True)['meta']['iter'] == 30


def test_hostile_checkpoint_refused_by_test_tool(tmp_path, cifar10_root):
    marker = tmp_path / 'pwned'
    evil = tmp_path / 'evil.pth'
    code = ('import torch, os\n'
            'class E:\n'
            '    def __reduce__(self):\n'
            f'        return (os.system, ("touch {marker}",))\n'
            f'torch.save({{"state_dict": {{}}, "meta": E()}}, r"{evil}")\n')
    assert run_tool(['python', '-c', code]).returncode == 0
    out = python_tool('tools/test.py', QUICK, str(evil), '--work-dir', str(tmp_path / 'w'),
                      '--cfg-options', *tiny_options(cifar10_root))
    assert out.returncode == 1
    assert 'not on the safe list' in out.stderr and 'Traceback' not in out.stderr
    assert not marker.exists()


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


def test_dist_train_and_test_two_cpu_processes(tmp_path, cifar10_root):
    work_dir = str(tmp_path / 'dist')
    out = run_tool(['bash', 'tools/dist_train.sh', QUICK, '2', '--work-dir', work_dir,
                    '--cfg-options', *tiny_options(cifar10_root, batch_size=10)],
                   env={'PORT': '29611'})
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    log = out.stdout + out.stderr
    assert 'using the "gloo" backend' in log
    assert 'Distributed training: True' in log and 'GPU number: 2' in log  # 2 processes
    # 200 images / (2 processes x 10) = 10 iterations per epoch
    assert 'Epoch(train) [1][10/10]' in log
    ckpt = osp.join(work_dir, 'epoch_1.pth')
    out = run_tool(['bash', 'tools/dist_test.sh', QUICK, ckpt, '2', '--work-dir',
                    work_dir + '_test', '--cfg-options', *tiny_options(cifar10_root)],
                   env={'PORT': '29612'})
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    assert 'accuracy/top1' in out.stdout


def test_mim_train_and_test(tmp_path, cifar10_root):
    work_dir = str(tmp_path / 'mim')
    out = run_tool(['mim', 'train', 'mmpretrain', QUICK, '--gpus', '0', '--work-dir', work_dir,
                    '--cfg-options', *tiny_options(cifar10_root)])
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    ckpt = osp.join(work_dir, 'epoch_1.pth')
    assert osp.isfile(ckpt)
    out = run_tool(['mim', 'test', 'mmpretrain', QUICK, '--gpus', '0', '--checkpoint', ckpt,
                    '--work-dir', work_dir, '--cfg-options', *tiny_options(cifar10_root)])
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    assert 'accuracy/top1' in out.stdout + out.stderr


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
