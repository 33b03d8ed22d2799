"""cifar_plugins.compat.atomic_write: checkpoints are written atomically."""
import os

import pytest
import torch

import cifar_plugins  # noqa: F401  (installs the safe loader)
from cifar_plugins.compat.atomic_write import atomic_write_bytes, is_own_temporary


def test_checkpoint_writes_are_atomic(tmp_path, monkeypatch):
    """An interrupted save leaves the previous checkpoint intact and no debris."""
    from mmengine.runner.checkpoint import save_checkpoint
    path = tmp_path / 'best.pth'
    save_checkpoint({'state_dict': {'w': torch.ones(3)}}, str(path))
    import os as os_mod

    def crash(*args, **kwargs):
        raise OSError('disk full')
    monkeypatch.setattr(os_mod, 'fsync', crash)
    with pytest.raises(OSError, match='disk full'):
        save_checkpoint({'state_dict': {'w': torch.zeros(3)}}, str(path))
    assert torch.equal(torch.load(path, weights_only=True)['state_dict']['w'], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ['best.pth']


@pytest.mark.parametrize('mode', [0o600, 0o640, 0o664])
def test_write_interrupted_between_write_and_rename(tmp_path, monkeypatch, mode):
    """A crash after the data is written but before the rename keeps the old
    file whole, leaves no temporary, and a completed write keeps the mode."""
    import os as os_mod
    from cifar_plugins.compat import atomic_write_bytes
    path = tmp_path / 'epoch_1.pth'
    path.write_bytes(b'old checkpoint')
    os_mod.chmod(path, mode)

    def crash(src, dst):
        assert os_mod.path.getsize(src) == len(b'new checkpoint')  # data was written
        raise KeyboardInterrupt
    monkeypatch.setattr(os_mod, 'replace', crash)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_bytes(b'new checkpoint', path)
    monkeypatch.undo()
    assert path.read_bytes() == b'old checkpoint'
    assert [p.name for p in tmp_path.iterdir()] == ['epoch_1.pth']
    atomic_write_bytes(b'new checkpoint', path)
    assert path.read_bytes() == b'new checkpoint'
    assert os_mod.stat(path).st_mode & 0o777 == mode


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
