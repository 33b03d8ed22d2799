"""tools/benchmarks/airbench_cpu.py: the airbench shim (a fake airbench package)."""
import re

from helpers import python_tool


def test_airbench_shim_explains_a_missing_package(tmp_path):
    # an importable "airbench" that fails as a missing one does, whether or not it is installed
    fake = tmp_path / 'shadow' / 'airbench'
    fake.mkdir(parents=True)
    (fake / '__init__.py').write_text("raise ImportError('No module named airbench')\n")
    out = python_tool('tools/benchmarks/airbench_cpu.py', '--work-dir', str(tmp_path / 'run'),
                      timeout=120, env={'PYTHONPATH': str(tmp_path / 'shadow')})
    assert out.returncode == 1, out.stdout[-2000:] + out.stderr[-2000:]
    assert re.search(r'ERROR: airbench is not installed; pip install airbench==0\.1\.8',
                     out.stderr)


FAKE_AIRBENCH_UTILS = """
import torch


class CifarLoader:  # airbench's test loader: the shim's cifar10/test.pt
    def __init__(self, path, train=True, batch_size=500):
        data = torch.load(path + ('/train.pt' if train else '/test.pt'))
        self.images, self.labels = data['images'], data['labels']


def infer(model, loader, tta_level=0):  # a "network" that always answers class 0
    assert model == 'trained net'
    logits = torch.zeros(len(loader.labels), 10)
    logits[:, 0] = 1
    return logits


def evaluate(model, loader, tta_level=0):
    return (infer(model, loader, tta_level).argmax(1) == loader.labels).float().mean().item()
"""
FAKE_AIRBENCH94 = """
import torch


def make_net94(widths):
    return widths


from . import utils


def train94(run=0, epochs=9.9, make_net=None):  # airbench calls utils.evaluate by name
    print(f'train94 run={run} epochs={epochs} net={make_net()}')
    assert torch.Tensor.cuda(torch.ones(1)).device.type == 'cpu'  # the shim is installed
    loader = utils.CifarLoader('cifar10', train=False, batch_size=2000)
    utils.evaluate('trained net', loader, tta_level=0)
    print(f"tta_val_acc {utils.evaluate('trained net', loader, tta_level=2):.4f}")
    return 'trained net'
"""


def test_airbench_shim_passes_settings_and_splits_the_test_set(cifar10_root, tmp_path):
    import numpy as np

    from cifar_plugins.datasets import load_split
    fake = tmp_path / 'shadow' / 'airbench'
    fake.mkdir(parents=True)
    (fake / '__init__.py').write_text("__version__ = 'fake'\n")
    (fake / 'utils.py').write_text(FAKE_AIRBENCH_UTILS)
    (fake / 'lib_airbench94.py').write_text(FAKE_AIRBENCH94)
    labels = np.asarray(load_split(cifar10_root, 'cifar10', 'test')[1])
    exact = np.zeros(len(labels), bool)
    exact[::3] = True
    np.savez(tmp_path / 'labels.npz', test_lossless=exact)
    out = python_tool('tools/benchmarks/airbench_cpu.py', '--data-root', cifar10_root,
                      '--work-dir', str(tmp_path / 'run'), '--epochs', '0.5',
                      '--widths', '8', '16', '32', '--lossless', str(tmp_path / 'labels.npz'),
                      timeout=120, env={'PYTHONPATH': str(tmp_path / 'shadow')})
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert "train94 run=0 epochs=0.5 net={'block1': 8, 'block2': 16, 'block3': 32}" in out.stdout
    zero = labels == 0
    expected = (f'run 0: with TTA: exact images ({exact.sum()}): '
                f'{100 * zero[exact].mean():.2f}%, JPEG-decoded ({(~exact).sum()}): '
                f'{100 * zero[~exact].mean():.2f}%, all: {100 * zero.mean():.2f}%')
    assert expected in out.stdout, out.stdout
    assert f'tta_val_acc {zero.mean():.4f}' in out.stdout  # airbench's own figure unchanged
    assert 0 < zero[exact].mean() < 1  # the split is not trivially 0 or 100
