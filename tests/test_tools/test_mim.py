"""mim train / mim test mmpretrain with the plugin's configs."""
import os.path as osp

import cifar_plugins  # noqa: F401  (allowlists mmengine checkpoint types)
from helpers import run_tool, tiny_options

QUICK = 'configs/fastcifarnet_per_sample_cifar10.py'


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
