"""StaleTempHook: stale temporaries are removed when training restarts."""
import shutil

import pytest

import cifar_plugins  # noqa: F401
from tiny_runs import resume_runs, train_resumable


@pytest.fixture(scope='module')
def runs(tmp_path_factory, cifar10_root):
    return resume_runs(tmp_path_factory, cifar10_root)


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
    train_resumable(work, cifar10_root, 4, resume=True)
    assert not any(p.exists() for p in stale)
    assert {p: p.read_bytes() for p in keep} == before
