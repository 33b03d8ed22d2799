"""tools/dist_train.sh and tools/dist_test.sh with two CPU processes."""
import os.path as osp

import cifar_plugins  # noqa: F401  (allowlists mmengine checkpoint types)
from helpers import run_tool, tiny_options

QUICK = 'configs/fastcifarnet_per_sample_cifar10.py'


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
