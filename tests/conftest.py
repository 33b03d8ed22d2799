import os
import os.path as osp

if os.environ.get('PYTEST_XDIST_WORKER'):
    # cores / workers threads per test worker (and the tools it starts): more would contend
    _threads = str(max(1, (os.cpu_count() or 1)
                           // int(os.environ.get('PYTEST_XDIST_WORKER_COUNT', '1'))))
    os.environ.setdefault('OMP_NUM_THREADS', _threads)
    os.environ.setdefault('MKL_NUM_THREADS', _threads)

import pytest

from helpers import REPO, write_cifar
from tiny_runs import train_row, trained_run, val_row, write_fake_run

SHARED_CIFAR = osp.join(osp.dirname(REPO), 'shared', 'cifar')


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


# ---------------------------------------------------------------- runs for the analysis tests

@pytest.fixture(scope='module')
def run_dir(tmp_path_factory, cifar10_root):
    return trained_run(tmp_path_factory, cifar10_root)


@pytest.fixture(scope='module')
def fake_runs(tmp_path_factory, run_dir):
    """A work_dirs tree: a resumed run, a plain run in a subfolder, a test-only folder."""
    root = tmp_path_factory.mktemp('fake_work_dirs')
    config = osp.join(run_dir, 'fastcifarnet_per_sample_cifar10.py')
    first = [train_row(1, i + 1, loss) for i, loss in enumerate([2.0, 1.8, 1.6, 1.4])]
    first += [val_row(1, 30.0, 70.0, 2.5)]
    first += [train_row(2, i + 5, loss) for i, loss in enumerate([1.2, 1.0, 0.8, 0.6])]
    first += [val_row(2, 40.0, 80.0, 2.0)]
    # resumed from the epoch-1 checkpoint: epoch 2 is logged again and wins
    second = [train_row(2, i + 5, loss) for i, loss in enumerate([1.1, 0.9, 0.7, 0.5])]
    second += [val_row(2, 45.0, 85.0, 1.9)]
    second += [train_row(3, i + 9, 0.5) for i in range(4)] + [val_row(3, 44.0, 90.0, 1.8)]
    test_only = [{'accuracy/top1': 99.0, 'step': 0}]
    resumed = write_fake_run(str(root / 'resumed'), [
        ('20240101_100000', first, ('2024/01/01 10:00:00', '2024/01/01 10:10:00')),
        ('20240101_120000', second, ('2024/01/01 12:00:00', '2024/01/01 12:05:30')),
        ('20240101_130000', test_only, ('2024/01/01 13:00:00', '2024/01/01 14:00:00')),
    ], config_src=config, config_name='fake_cfg')
    with open(osp.join(resumed, '20240101_120000', 'vis_data', 'scalars.json'), 'a') as f:
        f.write('{"loss": 0.1, "epoch": 3, "it')  # cut short by a killed run
    plain = write_fake_run(str(root / 'group' / 'plain'), [
        ('20240102_100000', [train_row(1, 1, 2.2), val_row(1, 20.0, 60.0, 2.4),
                             train_row(2, 2, 2.1), val_row(2, 25.0, 65.0, 2.3)],
         ('2024/01/02 10:00:00', '2024/01/02 10:01:00'))], config_src=config)
    write_fake_run(str(root / 'test_only'), [
        ('20240103_100000', test_only, ('2024/01/03 10:00:00', '2024/01/03 10:00:05'))])
    return dict(root=str(root), resumed=resumed, plain=plain)
