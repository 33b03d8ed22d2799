"""cifar_plugins.compat.checkpoint: weights-only loading of mmengine checkpoints on every
load path (local files and every URL scheme); hostile checkpoints are refused.

Each payload would run (create a marker file) if it were loaded unsafely; the
controls prove that, so these tests fail if a guard is removed."""
import io
import os
import pickle
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader, _load_checkpoint

import cifar_plugins  # noqa: F401  (installs the safe loader)
from cifar_plugins.compat import CheckpointLoadError, safe_load_from_local
from cifar_plugins.compat.checkpoint import HISTORY_BUFFER_METHODS, unsafe_schemes
from helpers import Call, open_payload, python_tool


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


def tofile_payload(marker):
    """``getattr(array, 'tofile')(marker)``: only the ``getattr`` stand-in
    stops it (torch resolves ``builtins.getattr`` because we register it)."""
    return Call(Call(getattr, np.arange(3, dtype=np.uint8), 'tofile'), str(marker))


def good_checkpoint():
    buf = HistoryBuffer()
    for v in (1.0, 0.5):
        buf.update(v)
    return {'meta': {'epoch': 1, 'seed': np.int64(0), 'cfg': 'model = dict()'},
            'state_dict': {'w': torch.arange(4.0)},
            'message_hub': {'log_scalars': {'train/loss': buf},
                            'runtime_info': {'arr': np.arange(3)}}}


class RebindStatistics:
    """``getattr(HistoryBuffer, '_statistics_methods')['mean'] = HistoryBuffer.max``:
    torch's unpickler allows SETITEM on any dict, so with the real ``getattr``
    a checkpoint could rewrite process-wide state."""

    def __reduce__(self):
        return (getattr, (HistoryBuffer, '_statistics_methods'), None, None,
                iter([('mean', HistoryBuffer.max)]))


def test_class_state_payload_works_with_real_getattr_but_not_with_the_plugin(tmp_path):
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'meta': RebindStatistics()}, path)
    # control: a fresh process without cifar_plugins, torch's weights-only loader,
    # HistoryBuffer allowed and the real getattr: mean is rebound to max
    code = ('import torch; from mmengine.logging import HistoryBuffer as H; H(); '
            'torch.serialization.add_safe_globals([getattr, H]); '
            f'torch.load(r"{path}", weights_only=True); '
            'print(H([1.0, 3.0], [1, 1]).statistics("mean"))')
    out = subprocess.run([sys.executable, '-W', 'ignore', '-c', code], cwd=str(tmp_path),
                         capture_output=True, text=True)
    assert out.stdout.strip() == '3.0', out.stderr[-2000:]
    with pytest.raises(CheckpointLoadError, match='not on the safe list'):
        safe_load_from_local(str(path))
    assert HistoryBuffer._statistics_methods['mean'] is HistoryBuffer.mean
    assert HistoryBuffer([1.0, 3.0], [1, 1]).statistics('mean') == 2.0


def test_tofile_payload_refused(tmp_path):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'meta': tofile_payload(marker)}, path)
    with pytest.raises(CheckpointLoadError, match='not on the safe list'):
        safe_load_from_local(str(path))
    assert not marker.exists()


@pytest.mark.parametrize('name', ['__init__', 'update', '__class__', '_statistics_methods'])
def test_getattr_stand_in_resolves_only_the_four_statistics(tmp_path, name):
    path = tmp_path / 'getattr.pth'
    torch.save({'meta': Call(getattr, HistoryBuffer, name)}, path)
    with pytest.raises(CheckpointLoadError, match='not on the safe list'):
        safe_load_from_local(str(path))
    ok = tmp_path / 'ok.pth'
    torch.save({'m': [getattr(HistoryBuffer, n) for n in sorted(HISTORY_BUFFER_METHODS)]}, ok)
    assert safe_load_from_local(str(ok))['m'] == [
        getattr(HistoryBuffer, n) for n in sorted(HISTORY_BUFFER_METHODS)]


def test_forced_no_weights_only_env_does_not_reach_the_plugin(tmp_path, monkeypatch):
    """``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` turns off weights_only for every
    load that does not pass it; ours passes ``weights_only=True`` explicitly."""
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'meta': open_payload(marker)}, path)
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    torch.load(path)  # control: the env var is honoured when the argument is absent
    assert marker.exists()
    marker.unlink()
    with pytest.raises(CheckpointLoadError):
        _load_checkpoint(str(path), map_location='cpu')
    assert not marker.exists()


def test_history_buffer_restore_cannot_change_process_state(tmp_path, monkeypatch):
    """A stored HistoryBuffer state cannot rebind ``mean`` or add statistics
    for later buffers and later loads."""
    buf = HistoryBuffer([1.0, 3.0], [1, 1])
    hostile_state = {'_log_history': np.array([1.0, 3.0]), '_count_history': np.array([1, 1]),
                     'max_length': 10,
                     'statistics_methods': {'mean': HistoryBuffer.max, 'min': HistoryBuffer.max}}
    monkeypatch.setattr(HistoryBuffer, '__getstate__', lambda self: hostile_state)
    path = tmp_path / 'hb.pth'
    torch.save({'message_hub': {'log_scalars': {'loss': buf}}}, path)
    monkeypatch.undo()
    before = dict(HistoryBuffer._statistics_methods)
    loaded = safe_load_from_local(str(path))['message_hub']['log_scalars']['loss']
    assert HistoryBuffer._statistics_methods == before
    assert HistoryBuffer._statistics_methods['mean'] is HistoryBuffer.mean
    assert loaded.mean() == 2.0 and loaded.statistics('mean') == 2.0
    assert HistoryBuffer([5.0, 7.0], [1, 1]).statistics('min') == 5.0
    assert 'statistics_methods' not in vars(loaded)


def test_history_buffer_round_trip_keeps_data(tmp_path):
    path = tmp_path / 'ok.pth'
    torch.save(good_checkpoint(), path)
    loaded = safe_load_from_local(str(path))['message_hub']['log_scalars']['train/loss']
    assert loaded.current() == 0.5 and loaded.mean() == 0.75 and loaded.max_length == 1000000


def corrupt_variants(tmp_path):
    path = tmp_path / 'good.pth'
    torch.save(good_checkpoint(), path)
    data = path.read_bytes()
    rng = np.random.default_rng(0)
    variants = {'empty': b'', 'random': rng.bytes(4096), 'text': b'hello world\n',
                'pickled list': pickle.dumps([1, 2, 3]),
                'pickled tensor': None, 'list state_dict': None, 'zip without data': None}
    for cut in np.linspace(1, len(data) - 1, 12).astype(int):
        variants[f'cut {cut}'] = data[:cut]
    for i, pos in enumerate(rng.integers(0, len(data), 24)):
        flipped = bytearray(data)
        flipped[pos] ^= 0xFF
        variants[f'flip {i}@{pos}'] = bytes(flipped)
    buf = io.BytesIO()
    torch.save(torch.zeros(2), buf)
    variants['pickled tensor'] = buf.getvalue()
    buf = io.BytesIO()
    torch.save({'state_dict': [torch.zeros(2)]}, buf)
    variants['list state_dict'] = buf.getvalue()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w') as zf:
        zf.writestr('archive/version', '3\n')
    variants['zip without data'] = buf.getvalue()
    return variants


def test_every_malformed_checkpoint_gives_checkpoint_load_error(tmp_path):
    failures = []
    for name, data in corrupt_variants(tmp_path).items():
        path = tmp_path / 'bad.pth'
        path.write_bytes(data)
        try:
            loaded = _load_checkpoint(str(path), map_location='cpu')
        except CheckpointLoadError:
            continue
        except Exception as err:  # noqa: BLE001  (the point of the test)
            failures.append(f'{name}: {type(err).__name__}: {err}')
            continue
        # a flip in padding or an unused byte may leave a valid checkpoint
        if not (isinstance(loaded, dict) and isinstance(loaded.get('state_dict'), dict)):
            failures.append(f'{name}: loaded as {type(loaded).__name__}')
    assert not failures, '\n'.join(failures)
    with pytest.raises(CheckpointLoadError, match='not found'):
        _load_checkpoint(str(tmp_path), map_location='cpu')  # a folder


def test_every_registered_scheme_has_a_weights_only_loader():
    assert set(CheckpointLoader._schemes) >= {
        '', 'http://', 'https://', 'torchvision://', 'modelzoo://', 'open-mmlab://',
        'openmmlab://', 'mmcls://', 'pavi://', 'timm-vit://'}
    assert unsafe_schemes() == []


@pytest.fixture
def hub_dir(tmp_path, monkeypatch):
    """torch hub's cache in tmp_path; downloading fails loudly (tests are offline)."""
    hub = tmp_path / 'hub'
    (hub / 'checkpoints').mkdir(parents=True)
    old = torch.hub.get_dir()
    torch.hub.set_dir(str(hub))

    def no_network(url, dst, *args, **kwargs):
        raise OSError(f'network disabled in tests ({url})')
    monkeypatch.setattr(torch.hub, 'download_url_to_file', no_network)
    yield hub / 'checkpoints'
    torch.hub.set_dir(old)


def url_cases():
    from mmengine.runner import checkpoint as mm
    mmcls_name = sorted(mm.get_mmcls_models())[0]
    omm_name = next(n for n, u in sorted(mm.get_external_models().items())
                    if u.startswith('http'))
    return [
        ('https://example.invalid/models/evil.pth', 'evil.pth'),
        ('http://example.invalid/evil2.pth', 'evil2.pth'),
        ('torchvision://resnet18', os.path.basename(mm.get_torchvision_models()['resnet18'])),
        ('modelzoo://resnet18', os.path.basename(mm.get_torchvision_models()['resnet18'])),
        (f'open-mmlab://{omm_name}', os.path.basename(mm.get_external_models()[omm_name])),
        (f'openmmlab://{omm_name}', os.path.basename(mm.get_external_models()[omm_name])),
        (f'mmcls://{mmcls_name}', os.path.basename(mm.get_mmcls_models()[mmcls_name])),
    ]


@pytest.mark.parametrize('url,cached_name', url_cases())
def test_url_checkpoints_go_through_the_safe_loader(hub_dir, tmp_path, url, cached_name):
    marker = tmp_path / 'pwned'
    torch.save({'state_dict': {}, 'meta': tofile_payload(marker)}, hub_dir / cached_name)
    with pytest.raises(CheckpointLoadError, match='not on the safe list'):
        _load_checkpoint(url, map_location='cpu')
    assert not marker.exists()
    torch.save({'state_dict': {'backbone.w': torch.ones(2)}}, hub_dir / cached_name)
    weights = list(_load_checkpoint(url, map_location='cpu')['state_dict'].values())
    assert len(weights) == 1 and torch.equal(weights[0], torch.ones(2))


def test_url_download_failure_and_unknown_names(hub_dir):
    with pytest.raises(CheckpointLoadError, match='Cannot download'):
        _load_checkpoint('https://example.invalid/missing.pth')
    with pytest.raises(CheckpointLoadError, match='Unknown model name'):
        _load_checkpoint('torchvision://no_such_net')
    with pytest.raises(CheckpointLoadError, match='pavi is not installed'):
        _load_checkpoint('pavi://some/model')


def test_s3_checkpoint_bytes_go_through_the_safe_loader(tmp_path, monkeypatch):
    marker = tmp_path / 'pwned'
    buf = io.BytesIO()
    torch.save({'meta': open_payload(marker)}, buf)

    class Backend:
        def get(self, filename):
            return buf.getvalue()
    import mmengine.fileio
    monkeypatch.setattr(mmengine.fileio, 'get_file_backend', lambda *a, **k: Backend())
    with pytest.raises(CheckpointLoadError, match='not on the safe list'):
        _load_checkpoint('s3://bucket/evil.pth')
    assert not marker.exists()


def test_hostile_http_checkpoint_refused_as_load_from_in_a_real_run(tmp_path, cifar10_root):
    """``load_from=https://...`` through tools/train.py ends in the safe loader
    (hub cache prepared in a fresh process; nothing is downloaded)."""
    from helpers import tiny_options
    hub = tmp_path / 'hub'
    (hub / 'checkpoints').mkdir(parents=True)
    marker = tmp_path / 'pwned'
    torch.save({'state_dict': {}, 'meta': tofile_payload(marker)},
               hub / 'checkpoints' / 'evil.pth')
    out = python_tool('tools/train.py',
                      'configs/fastcifarnet_per_sample_cifar10.py',
                      '--work-dir', str(tmp_path / 'wd'), '--cfg-options',
                      *tiny_options(cifar10_root),
                      'load_from=https://example.invalid/evil.pth',
                      env={'TORCH_HOME': str(tmp_path), 'TORCH_HUB': str(hub)},
                      timeout=300)
    assert out.returncode == 1, out.stderr[-2000:]
    assert 'ERROR: Refused to load https://example.invalid/evil.pth' in out.stderr
    assert not marker.exists()
