"""cifar_plugins.datasets.prepare: CIFAR prepared from a folder or an archive,
never clobbered, unsafe archives refused."""
import os
import os.path as osp
import tarfile

import pytest

from cifar_plugins.datasets import CIFARDataError
from cifar_plugins.datasets.cifar_files import verify
from cifar_plugins.datasets.prepare import prepare
from helpers import dotdot_tar, symlink_tar, write_cifar


def _full_size_cifar10(root):
    return write_cifar(root, 'cifar10', per_batch=10000, n_test=10000)


@pytest.fixture(scope='module')
def full_synthetic(tmp_path_factory):
    return _full_size_cifar10(str(tmp_path_factory.mktemp('full')))


def test_prepare_from_folder_and_archive(tmp_path, full_synthetic):
    report = prepare('cifar10', full_synthetic, str(tmp_path / 'a'))
    assert report['train'] == 50000 and report['test'] == 10000
    assert not report['official'] and 'test_batch' in report['md5_mismatch']
    archive = tmp_path / 'cifar-10-python.tar.gz'
    with tarfile.open(archive, 'w:gz') as tar:
        tar.add(osp.join(full_synthetic, 'cifar-10-batches-py'), arcname='cifar-10-batches-py')
    report = prepare('cifar10', str(archive), str(tmp_path / 'b'))
    assert report['train_per_class'] and sum(report['train_per_class']) == 50000
    assert osp.isfile(tmp_path / 'b' / 'cifar-10-batches-py' / 'data_batch_5')


def test_prepare_never_clobbers(tmp_path, full_synthetic, cifar10_root):
    dest = str(tmp_path / 'dest')
    prepare('cifar10', full_synthetic, dest)
    with pytest.raises(CIFARDataError, match='--force'):
        prepare('cifar10', full_synthetic, dest)
    # a bad source with --force fails verification and leaves the good data in place
    with pytest.raises(CIFARDataError):
        prepare('cifar10', cifar10_root, dest, force=True)
    assert verify(dest, 'cifar10')['train'] == 50000


def without_extraction_filters(monkeypatch):
    """Make ``tarfile`` look like Python < 3.11.4 (Debian 12's 3.11.2): no ``filter=``."""
    import tarfile
    monkeypatch.delattr(tarfile, 'data_filter')
    real_extractall = tarfile.TarFile.extractall

    def old_extractall(self, path='.', members=None, *, numeric_owner=False):
        return real_extractall(self, path, members, numeric_owner=numeric_owner)

    monkeypatch.setattr(tarfile.TarFile, 'extractall', old_extractall)


@pytest.mark.parametrize('filters', ['tarfile filters', 'no tarfile filters'])
def test_unsafe_archives_write_nothing_outside_the_destination(tmp_path, cifar10_root,
                                                               monkeypatch, filters):
    """Archives with a ``../`` member or a symlink are refused; the file their members aim
    at is never written, and no destination or temporary folder is left. On Pythons
    without extraction filters every member is checked before anything is written."""
    if filters == 'no tarfile filters':
        without_extraction_filters(monkeypatch)
    for make in (dotdot_tar, symlink_tar):
        case = tmp_path / make.__name__
        case.mkdir()
        src = make(case, cifar10_root)
        from cifar_plugins.datasets import CIFARDataError
        from cifar_plugins.datasets.prepare import prepare
        with pytest.raises(CIFARDataError, match='refusing to extract'):
            prepare('cifar10', str(src), str(case / 'dest' / 'cifar10'))
        assert sorted(os.listdir(case)) == [src.name]  # no dest/, no escaped.txt
        assert not osp.exists(tmp_path / 'escaped.txt')


def test_good_archive_extracts_with_safe_modes_on_pythons_without_extraction_filters(
        tmp_path, cifar10_root, monkeypatch):
    """Without ``filter=`` the members keep their content but lose set-uid and
    group / world write bits, as tarfile's ``data`` filter would do."""
    import tarfile

    from cifar_plugins.datasets.prepare import _extract
    without_extraction_filters(monkeypatch)
    good = tmp_path / 'good.tar'
    with tarfile.open(good, 'w') as tar:
        def setuid(info):
            info.mode |= 0o4777 if info.isfile() else 0o777
            return info
        tar.add(osp.join(cifar10_root, 'cifar-10-batches-py'), arcname='cifar-10-batches-py',
                filter=setuid)
    _extract(str(good), str(tmp_path / 'ok'))  # (the synthetic set is too small for prepare)
    extracted = tmp_path / 'ok' / 'cifar-10-batches-py' / 'data_batch_1'
    assert extracted.read_bytes() == open(osp.join(cifar10_root, 'cifar-10-batches-py',
                                                   'data_batch_1'), 'rb').read()
    assert os.stat(extracted).st_mode & 0o7022 == 0  # no set-uid, no group/world write
