"""Integration on the real CIFAR-10 (restored from ../shared/cifar; skipped without it)."""
import re

from cifar_plugins.datasets import VerifiedCIFAR10
from helpers import python_tool, tiny_options


def test_real_cifar10_is_complete(real_cifar10_root):
    train = VerifiedCIFAR10(data_root=real_cifar10_root, split='train', download=False)
    test = VerifiedCIFAR10(data_root=real_cifar10_root, split='test', download=False)
    assert len(train) == 50000 and len(test) == 10000
    assert sorted(set(train.get_gt_labels().tolist())) == list(range(10))


def test_short_real_training_beats_chance(tmp_path, real_cifar10_root):
    """Quickstart recipe, 2 epochs on 10000 training images, tested on the 1000
    test images that are pixel-exact in the pack: chance is 10%."""
    opts = tiny_options(real_cifar10_root, max_epochs=2, batch_size=100, extra=[
        'train_dataloader.dataset.indices=10000', 'val_dataloader.dataset.indices=1000',
        'test_dataloader.dataset.indices=1000',
        'default_hooks.logger.interval=10'])
    out = python_tool('tools/train.py', 'configs/quickstart_cifar10.py',
                      '--work-dir', str(tmp_path), '--cfg-options', *opts,
                      env={'OMP_NUM_THREADS': '2'})
    assert out.returncode == 0, out.stderr[-3000:]
    top1 = float(re.findall(r'accuracy/top1: ([\d.]+)', out.stdout + out.stderr)[-1])
    assert top1 > 40.0, f'top-1 {top1:.1f}% after 2 short epochs'
