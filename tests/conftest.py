import os
import os.path as osp
import pickle

if os.environ.get('PYTEST_XDIST_WORKER'):
    # cores / workers threads per test worker (and the tools it starts): more would contend
    _threads = str(max(1, (os.cpu_count() or 1)
                           // int(os.environ.get('PYTEST_XDIST_WORKER_COUNT', '1'))))
    os.environ.setdefault('OMP_NUM_THREADS', _threads)
    os.environ.setdefault('MKL_NUM_THREADS', _threads)

import numpy as np
import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHARED_CIFAR = osp.join(osp.dirname(REPO), 'shared', 'cifar')


def make_images(labels, num_classes, rng):
    """Images whose mean colour encodes the class (learnable) plus noise."""
    hues = np.linspace(0, 255, num_classes, dtype=np.float32)
    base = np.stack([hues, 255 - hues, (hues * 7) % 256], axis=1)[labels]  # N,3
    noise = rng.normal(0, 25, size=(len(labels), 3, 32, 32))
    imgs = np.clip(base[:, :, None, None] + noise, 0, 255).astype(np.uint8)
    return imgs.reshape(len(labels), 3072)


def write_cifar(root, name='cifar10', per_batch=40, n_test=100, seed=0):
    """Write a small dataset in the official layout and pickle format."""
    rng = np.random.default_rng(seed)
    n_cls = 10 if name == 'cifar10' else 100
    if name == 'cifar10':
        folder = osp.join(root, 'cifar-10-batches-py')
        os.makedirs(folder, exist_ok=True)
        files = [(f'data_batch_{i}', per_batch) for i in range(1, 6)] + [('test_batch', n_test)]
        for fname, n in files:
            labels = rng.integers(0, n_cls, n)
            entry = {'batch_label': fname, 'labels': labels.tolist(),
                     'data': make_images(labels, n_cls, rng)}
            with open(osp.join(folder, fname), 'wb') as f:
                pickle.dump(entry, f, protocol=2)
        with open(osp.join(folder, 'batches.meta'), 'wb') as f:
            pickle.dump({'label_names': [f'class{i}' for i in range(n_cls)]}, f, protocol=2)
    else:
        folder = osp.join(root, 'cifar-100-python')
        os.makedirs(folder, exist_ok=True)
        for fname, n in (('train', per_batch * 5), ('test', n_test)):
            labels = rng.integers(0, n_cls, n)
            entry = {'fine_labels': labels.tolist(), 'coarse_labels': (labels // 5).tolist(),
                     'data': make_images(labels, n_cls, rng)}
            with open(osp.join(folder, fname), 'wb') as f:
                pickle.dump(entry, f, protocol=2)
        with open(osp.join(folder, 'meta'), 'wb') as f:
            pickle.dump({'fine_label_names': [f'c{i}' for i in range(n_cls)],
                         'coarse_label_names': [f'g{i}' for i in range(20)]}, f, protocol=2)
    return root


@pytest.fixture(scope='session')
def cifar10_root(tmp_path_factory):
    return write_cifar(str(tmp_path_factory.mktemp('c10_data')), 'cifar10')


@pytest.fixture(scope='session')
def cifar100_root(tmp_path_factory):
    return write_cifar(str(tmp_path_factory.mktemp('c100_data')), 'cifar100')


@pytest.fixture(scope='session')
def real_cifar10_root(tmp_path_factory):
    """The real CIFAR-10 restored from ../shared/cifar (skipped when absent)."""
    if not osp.isfile(osp.join(SHARED_CIFAR, 'restore.py')):
        pytest.skip(f'real CIFAR-10 pack not found at {SHARED_CIFAR}')
    existing = osp.join(REPO, 'data', 'cifar10')
    if osp.isfile(osp.join(existing, 'cifar-10-batches-py', 'test_batch')):
        return existing
    from cifar_plugins.datasets.prepare import prepare
    root = str(tmp_path_factory.mktemp('real_cifar10'))
    prepare('cifar10', SHARED_CIFAR, root)
    return root
