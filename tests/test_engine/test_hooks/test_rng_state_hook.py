"""RNGStateHook: stop-and-resume ends with bit-identical weights."""
import random

import numpy as np
import pytest
import torch

import cifar_plugins  # noqa: F401
from cifar_plugins.engine.hooks.rng_state_hook import rng_restore, rng_snapshot
from tiny_runs import resume_runs


@pytest.fixture(scope='module')
def runs(tmp_path_factory, cifar10_root):
    return resume_runs(tmp_path_factory, cifar10_root)


def tensors(path):
    return torch.load(path, map_location='cpu', weights_only=True)['state_dict']


def differing(a, b):
    return [k for k in a if not torch.equal(a[k], b[k])]


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
