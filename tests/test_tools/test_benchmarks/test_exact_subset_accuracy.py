"""tools/benchmarks/exact_subset_accuracy.py splits the test set."""
import re

from helpers import python_tool


def test_exact_subset_accuracy_splits_the_test_set(cifar10_root, tmp_path):
    import numpy as np
    import torch
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from cifar_plugins.datasets import load_split
    from cifar_plugins.registry import MODELS
    config = 'configs/fast/quickstart_cifar10.py'
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(Config.fromfile(config).model)
    ckpt = tmp_path / 'model.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    labels = load_split(cifar10_root, 'cifar10', 'test')[1]
    exact = np.zeros(len(labels), bool)
    exact[1::4] = True  # scattered, so taking the first n images would not pass
    np.savez(tmp_path / 'labels.npz', test_lossless=exact)
    out = python_tool('tools/benchmarks/exact_subset_accuracy.py', config, str(ckpt),
                      '--data-root', cifar10_root, '--lossless', str(tmp_path / 'labels.npz'),
                      timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    found = re.search(r'without TTA: exact images \((\d+)\): ([\d.]+)%, JPEG-decoded \((\d+)\): '
                      r'([\d.]+)%, all: ([\d.]+)%', out.stdout)
    assert found, out.stdout
    n_exact, acc_exact, n_jpeg, acc_jpeg, acc_all = map(float, found.groups())
    assert (n_exact, n_jpeg) == (exact.sum(), (~exact).sum())
    assert abs(acc_all - (n_exact * acc_exact + n_jpeg * acc_jpeg) / len(labels)) < 0.01
    only = python_tool('tools/benchmarks/exact_subset_accuracy.py', config, str(ckpt),
                       '--data-root', cifar10_root, '--lossless', str(tmp_path / 'labels.npz'),
                       '--exact-only', timeout=300)
    assert only.returncode == 0, only.stderr[-3000:]
    assert only.stdout.strip().endswith(
        f'without TTA: exact images ({int(n_exact)}): {acc_exact:.2f}%'), only.stdout
