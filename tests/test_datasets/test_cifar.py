"""cifar_plugins.datasets.cifar: VerifiedCIFAR10 / VerifiedCIFAR100 and their data-root errors."""
import os
import os.path as osp
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from cifar_plugins.datasets import CIFARDataError, VerifiedCIFAR10, VerifiedCIFAR100
from cifar_plugins.registry import DATASETS


def test_cifar10_loads_and_matches_files(cifar10_root):
    ds = DATASETS.build(dict(type='VerifiedCIFAR10', data_root=cifar10_root, split='train',
                             download=False, pipeline=[]))
    assert len(ds) == 200
    with open(osp.join(cifar10_root, 'cifar-10-batches-py', 'data_batch_1'), 'rb') as f:
        first = pickle.load(f, encoding='latin1')
    item = ds[0]
    # HWC image rebuilt from the planar R,G,B rows of the official format
    np.testing.assert_array_equal(item['img'], first['data'][0].reshape(3, 32, 32).transpose(1, 2, 0))
    assert item['gt_label'] == first['labels'][0]
    assert ds.metainfo['classes'][0] == 'airplane'
    test = VerifiedCIFAR10(data_root=cifar10_root, split='test', download=False)
    assert len(test) == 100


def test_cifar100_fine_labels(cifar100_root):
    ds = VerifiedCIFAR100(data_root=cifar100_root, split='train', download=False)
    assert len(ds) == 200 and len(ds.metainfo['classes']) == 100
    assert max(ds.get_gt_labels()) < 100


def test_subset_by_indices(cifar10_root):
    ds = VerifiedCIFAR10(data_root=cifar10_root, split='train', download=False, indices=17)
    assert len(ds) == 17


def test_missing_data_names_path_and_fix(tmp_path):
    with pytest.raises(CIFARDataError) as err:
        VerifiedCIFAR10(data_root=str(tmp_path / 'nowhere'), split='train', download=False)
    msg = str(err.value)
    assert 'nowhere' in msg and 'does not exist' in msg and 'tools/prepare_cifar.py' in msg
    assert '\n' not in msg


@pytest.fixture
def no_download(monkeypatch):
    """Replace the download with a recorder that fails like an offline machine."""
    import cifar_plugins.datasets.cifar as cifar_mod
    calls = []

    def offline(url, root, *args, **kwargs):
        calls.append(url)
        os.makedirs(root, exist_ok=True)  # like the real one, before the network fails
        with open(osp.join(root, 'cifar-10-python.tar.gz'), 'wb') as f:
            f.write(b'partial')
        raise OSError('network unreachable')
    monkeypatch.setattr(cifar_mod, 'download_and_extract_archive', offline)
    return calls


def test_failed_download_is_one_clear_error(tmp_path, no_download):
    root = tmp_path / 'new' / 'c10'
    with pytest.raises(CIFARDataError) as err:
        VerifiedCIFAR10(data_root=str(root), split='train', download=True)
    msg = str(err.value)
    assert '\n' not in msg and 'does not exist' in msg and 'downloading it there failed' in msg
    assert 'network unreachable' in msg and 'tools/prepare_cifar.py cifar10' in msg
    assert no_download and not root.exists()  # the partial archive is not left behind


def test_empty_folder_download_failure_says_the_folder_is_empty(tmp_path, no_download):
    with pytest.raises(CIFARDataError, match=r'is an empty folder .*downloading it there failed'):
        VerifiedCIFAR10(data_root=str(tmp_path), split='train', download=True)
    assert no_download and list(tmp_path.iterdir()) == []


def test_complete_files_never_download(cifar10_root, no_download):
    cfg = dict(type='VerifiedCIFAR10', data_root=cifar10_root, split='train', download=True,
               pipeline=[])
    assert len(DATASETS.build(cfg)) == 200
    VerifiedCIFAR10.check_data_config(cfg)
    assert no_download == []


def test_bad_data_roots_are_named_and_never_downloaded_into(tmp_path, cifar10_root,
                                                              no_download):
    partial = tmp_path / 'partial'
    shutil.copytree(cifar10_root, partial)
    os.remove(partial / 'cifar-10-batches-py' / 'data_batch_3')
    a_file = tmp_path / 'a_file'
    a_file.write_text('x')
    archive_only = tmp_path / 'archive_only'
    archive_only.mkdir()
    (archive_only / 'cifar-10-python.tar.gz').write_bytes(b'half')
    cases = [(partial, r'incomplete: cifar-10-batches-py/ lacks data_batch_3\. Nothing is '
                       r'downloaded.*--force'),
             (a_file, 'is a file, not a folder'),
             (str(a_file) + '/', 'is a file, not a folder'),
             (osp.join(cifar10_root, 'cifar-10-batches-py'), 'is the cifar-10-batches-py/ '
                                                             'folder itself'),
             (archive_only, 'holds cifar-10-python.tar.gz but no cifar-10-batches-py/')]
    before = _tree(tmp_path)
    for root, pattern in cases:
        with pytest.raises(CIFARDataError, match=pattern):
            VerifiedCIFAR10(data_root=str(root), split='train', download=True)
        with pytest.raises(CIFARDataError, match=pattern):
            VerifiedCIFAR10.check_data_config(dict(data_root=str(root), download=True))
    assert no_download == [] and _tree(tmp_path) == before


def test_missing_data_without_download_says_what_the_path_is(tmp_path):
    with pytest.raises(CIFARDataError, match='is an empty folder .*or set download=True'):
        VerifiedCIFAR10(data_root=str(tmp_path), split='train', download=False)
    (tmp_path / 'other').mkdir()
    with pytest.raises(CIFARDataError, match='has no cifar-10-batches-py/ folder'):
        VerifiedCIFAR10(data_root=str(tmp_path), split='train', download=False)


def _tree(root):
    return sorted((str(p), p.stat().st_size, p.stat().st_mtime_ns)
                  for p in Path(root).rglob('*'))
