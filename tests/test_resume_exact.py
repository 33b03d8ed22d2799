"""Stop-and-resume ends with bit-identical weights; stale temporaries are removed."""
import os
import random
import shutil

import numpy as np
import pytest
import torch

import cifar_plugins  # noqa: F401
from cifar_plugins.compat.atomic_write import atomic_write_bytes, is_own_temporary
from cifar_plugins.engine.hooks.rng_state_hook import rng_restore, rng_snapshot
from helpers import python_tool, tiny_options

QUICK = 'configs/fastcifarnet_per_sample_cifar10.py'


def train(work_dir, data_root, max_epochs, *extra, resume=False):
    # augmentation on (batch crop + flip from the global torch RNG), validation
    # between epochs, a persistent DataLoader worker: all the ways a resumed
    # run's random streams could drift from the uninterrupted one's
    opts = tiny_options(data_root, max_epochs=4, extra=[
        'train_cfg.val_interval=1', 'randomness.deterministic=True',
        'train_dataloader.num_workers=1', 'train_dataloader.persistent_workers=True',
        'default_hooks.checkpoint.save_best=None', *extra])
    opts = [o for o in opts if not o.startswith('train_cfg.max_epochs=')]
    opts.append(f'train_cfg.max_epochs={max_epochs}')
    args = ['tools/train.py', QUICK, '--work-dir', str(work_dir), '--cfg-options', *opts]
    if resume:
        args.append('--resume')
    out = python_tool(*args, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def tensors(path):
    return torch.load(path, map_location='cpu', weights_only=True)['state_dict']


def differing(a, b):
    return [k for k in a if not torch.equal(a[k], b[k])]


@pytest.fixture(scope='module')
def runs(tmp_path_factory, cifar10_root):
    base = tmp_path_factory.mktemp('resume')
    full, split, plain = base / 'full', base / 'split', base / 'plain'
    train(full, cifar10_root, 4)
    train(split, cifar10_root, 2)
    # the second half reads the checkpoint from disk, in a new process
    log = train(split, cifar10_root, 4, resume=True)
    # the same stop-and-resume without the hook: must drift (else this test is void)
    train(plain, cifar10_root, 2, 'default_hooks.rng_state=None')
    train(plain, cifar10_root, 4, 'default_hooks.rng_state=None', resume=True)
    return full, split, plain, log


def test_resumed_run_ends_bit_identical(runs):
    full, split, _, log = runs
    assert 'Random number generator states restored' in log.stdout + log.stderr
    assert not differing(tensors(full / 'epoch_2.pth'), tensors(split / 'epoch_2.pth'))
    final_full, final_split = tensors(full / 'epoch_4.pth'), tensors(split / 'epoch_4.pth')
    assert len(final_full) > 20
    assert not differing(final_full, final_split)


def test_without_rng_states_the_resumed_run_drifts(runs):
    full, _, plain, _ = runs
    assert differing(tensors(full / 'epoch_4.pth'), tensors(plain / 'epoch_4.pth'))
    ckpt = torch.load(plain / 'epoch_2.pth', map_location='cpu', weights_only=True)
    assert 'rng_state' not in ckpt


def test_checkpoint_holds_one_state_per_rank_and_loads_weights_only(runs):
    full = runs[0]
    ckpt = torch.load(full / 'epoch_2.pth', map_location='cpu', weights_only=True)
    stored = ckpt['rng_state']
    assert stored['world_size'] == 1 and len(stored['ranks']) == 1
    assert {'torch', 'numpy', 'python'} <= set(stored['ranks'][0])


def test_snapshot_restore_round_trip():
    state = rng_snapshot()
    first = (torch.rand(3), np.random.rand(3), random.random())
    rng_restore(state)
    again = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert first[2] == again[2]


def test_stale_temporaries_are_removed_when_training_restarts(runs, tmp_path, cifar10_root):
    full = runs[0]
    work = tmp_path / 'work'
    shutil.copytree(full, work)
    stale = [work / '.epoch_4.pth.k3j4h5g6.cifar-plugins.tmp', work / '.epoch_3.pthab12cd34.tmp']
    keep = [work / 'notes.tmp', work / '.hidden.tmp', work / 'epoch_4.pth']
    for path in stale + keep[:2]:
        path.write_bytes(b'partial')
    before = {p: p.read_bytes() for p in keep}
    # resuming a finished run: the hook runs at the start, training does nothing
    train(work, cifar10_root, 4, resume=True)
    assert not any(p.exists() for p in stale)
    assert {p: p.read_bytes() for p in keep} == before


def test_own_temporary_pattern(tmp_path):
    target = tmp_path / 'best.pth'
    seen = []
    real_replace = os.replace

    def spy(src, dst):
        seen.append(os.path.basename(src))
        real_replace(src, dst)
    os.replace = spy
    try:
        atomic_write_bytes(b'data', target)
    finally:
        os.replace = real_replace
    assert target.read_bytes() == b'data'
    assert len(seen) == 1 and is_own_temporary(seen[0])
    assert not is_own_temporary('epoch_1.pth') and not is_own_temporary('x.tmp')
