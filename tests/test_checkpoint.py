import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader, _load_checkpoint

import cifar_plugins  # noqa: F401  (installs the safe loader)
from cifar_plugins.compat import CheckpointLoadError, safe_load_from_local


def mmengine_like_checkpoint():
    buf = HistoryBuffer()
    for v in (1.0, 0.5, 0.25):
        buf.update(v)
    return {
        'meta': {'epoch': 3, 'iter': 30, 'seed': np.int64(0), 'cfg': 'model = dict()',
                 'dataset_meta': {'classes': ('cat', 'dog')}},
        'state_dict': {'w': torch.randn(2, 2)},
        'message_hub': {'log_scalars': {'train/loss': buf},
                        'runtime_info': {'lr': np.float64(0.1), 'arr': np.arange(3)}},
    }


def test_stock_weights_only_load_fails_without_allowlist(tmp_path):
    path = tmp_path / 'ckpt.pth'
    torch.save(mmengine_like_checkpoint(), path)
    # the allowlist is process-global once cifar_plugins is imported: check
    # plain torch in a fresh interpreter
    code = f'import torch; torch.load(r"{path}", weights_only=True)'
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert out.returncode != 0 and 'Weights only load failed' in out.stderr


def test_mmengine_checkpoint_loads_with_weights_only(tmp_path):
    path = tmp_path / 'ckpt.pth'
    ckpt = mmengine_like_checkpoint()
    torch.save(ckpt, path)
    loaded = torch.load(path, weights_only=True)
    buf = loaded['message_hub']['log_scalars']['train/loss']
    assert isinstance(buf, HistoryBuffer) and buf.current() == 0.25
    np.testing.assert_array_equal(loaded['message_hub']['runtime_info']['arr'], np.arange(3))
    # and through mmengine's loader (load_from / resume / mim test)
    assert CheckpointLoader._schemes[''] is safe_load_from_local
    via_mmengine = _load_checkpoint(str(path), map_location='cpu')
    assert torch.equal(via_mmengine['state_dict']['w'], ckpt['state_dict']['w'])


class Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, 'w'))


def test_hostile_checkpoint_refused_without_running(tmp_path):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'meta': Exploit(str(marker))}, path)
    with pytest.raises(CheckpointLoadError, match='not on the safe list'):
        _load_checkpoint(str(path), map_location='cpu')
    assert not marker.exists()


def test_hostile_plain_pickle_refused(tmp_path):
    marker = tmp_path / 'pwned2'
    path = tmp_path / 'evil.pkl'
    with open(path, 'wb') as f:
        pickle.dump({'state_dict': Exploit(str(marker))}, f)
    with pytest.raises(CheckpointLoadError):
        safe_load_from_local(str(path), map_location='cpu')
    assert not marker.exists()


def test_truncated_and_missing_checkpoint(tmp_path):
    path = tmp_path / 'cut.pth'
    torch.save(mmengine_like_checkpoint(), path)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(CheckpointLoadError, match='corrupt or truncated'):
        safe_load_from_local(str(path))
    with pytest.raises(CheckpointLoadError, match='not found'):
        safe_load_from_local(str(tmp_path / 'nope.pth'))


def test_getattr_is_restricted_to_history_buffer_methods(tmp_path):
    """A pickle may use getattr only as HistoryBuffer's state needs it: a walk
    like getattr(HistoryBuffer, '__init__') -> __globals__ -> os is refused."""
    class GetattrExploit:
        def __reduce__(self):
            return (getattr, (HistoryBuffer, '__init__'))
    path = tmp_path / 'getattr.pth'
    torch.save({'meta': GetattrExploit()}, path)
    with pytest.raises(CheckpointLoadError, match='not on the safe list'):
        safe_load_from_local(str(path))
    ok = tmp_path / 'ok.pth'
    torch.save({'mean': HistoryBuffer.mean}, ok)
    assert safe_load_from_local(str(ok))['mean'] is HistoryBuffer.mean


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
