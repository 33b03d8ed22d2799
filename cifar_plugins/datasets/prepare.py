"""Prepare CIFAR offline from an archive or a folder, verified, written
atomically."""
import lzma
import os
import os.path as osp
import posixpath
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zlib

from .cifar_files import SPECS, CIFARDataError, md5sum, verify

# what a damaged archive raises while it is read (bz2 raises OSError without
# errno)
_CORRUPT_ARCHIVE = (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError)


def _find_dataset_folder(top, folder_name):
    for root, dirs, _ in os.walk(top):
        if osp.basename(root) == folder_name:
            return root
        if folder_name in dirs:
            return osp.join(root, folder_name)
    return None


class _NoFilterError(Exception):
    """Stands for ``tarfile.FilterError`` where the Python has no extraction
    filters."""


# extraction filters came with Python 3.11.4 / 3.10.12 / 3.9.17; Debian 12's
# 3.11.2 has none
_FILTER_ERROR = getattr(tarfile, 'FilterError', _NoFilterError)


def _refuse_unsafe(member, src):
    """Raise unless ``member`` is a plain file or folder inside the
    destination.

    Args:
        member (tarfile.TarInfo): The archive member.
        src (str): The archive, for messages.
    """
    name = member.name
    if posixpath.isabs(name) or '..' in posixpath.normpath(name).split('/'):
        raise CIFARDataError(
            f'{src} holds a member outside the destination ({name!r}); '
            f'refusing to extract it. Use the official archive.')
    if member.issym() or member.islnk():
        raise CIFARDataError(
            f'{src} holds a link ({name!r} -> {member.linkname!r}); CIFAR '
            f'archives hold only files and folders, refusing to extract '
            f'it. Use the official archive.')
    if not (member.isfile() or member.isdir()):
        raise CIFARDataError(
            f'{src} holds a special file ({name!r}); refusing to extract '
            f'it. Use the official archive.')


def _member_filter(src):
    """A tar extraction filter: :func:`_refuse_unsafe`, then tarfile's ``data``
    filter.

    Args:
        src (str): The archive, for messages.
    """

    def check(member, dest):
        _refuse_unsafe(member, src)
        return tarfile.data_filter(member, dest)

    return check


def _checked_members(tar, src):
    """Every member, checked before anything is written (Pythons without
    filters).

    What the ``data`` filter would also do is done by hand: no set-uid /
    set-gid / sticky / group- or world-writable bits, and the extracting user
    as owner.
    """
    members = tar.getmembers()
    for member in members:
        _refuse_unsafe(member, src)
        member.mode &= 0o755
        if hasattr(os, 'getuid'):
            member.uid, member.gid, member.uname, member.gname = os.getuid(
            ), os.getgid(), '', ''
    return members


def _extract(src, staging):
    """Extract the archive ``src`` into ``staging``, refusing unsafe or damaged
    archives.

    Args:
        src (str): The tar archive.
        staging (str): The (temporary) destination folder.

    Raises:
        CIFARDataError: the archive is truncated, corrupt or holds a member
            that is not a plain file or folder inside ``staging``.
    """
    try:
        with tarfile.open(src) as tar:
            if hasattr(tarfile, 'data_filter'):
                tar.extractall(staging, filter=_member_filter(src))
            else:
                tar.extractall(staging, members=_checked_members(tar, src))
    except _FILTER_ERROR as err:
        raise CIFARDataError(
            f'{src} holds an unsafe member ({err}); refusing to extract it. '
            f'Use the official archive.') from None
    except _CORRUPT_ARCHIVE + (OSError, ) as err:
        if isinstance(err, OSError) and err.errno is not None:
            raise  # a problem of the disk, not of the archive
        raise CIFARDataError(
            f'{src} is truncated or corrupt ({type(err).__name__}: {err}): '
            f'copy or download it again.') from None


def _stage_source(src, name, staging):
    """Put ``src``'s dataset folder under ``staging``; return its path
    there."""
    spec = SPECS[name]
    if osp.isfile(src):
        if not tarfile.is_tarfile(src):
            raise CIFARDataError(
                f'{src} is not a tar archive (expected {spec["archive"]}).')
        if osp.basename(src) == spec['archive'] and md5sum(
                src) != spec['archive_md5']:
            print(
                f'note: {src} is not byte-identical to the official archive; '
                f'its content is verified instead.')
        _extract(src, staging)
    elif osp.isfile(osp.join(src, 'restore.py')) and osp.isdir(
            osp.join(src, name)):
        # a compressed pack with its own restore script (as in ../shared/cifar)
        done = subprocess.run(
            [sys.executable,
             osp.join(src, 'restore.py'), staging, name])
        if done.returncode != 0:
            raise CIFARDataError(
                f'{osp.join(src, "restore.py")} failed (exit code '
                f'{done.returncode}, see its output above): check the pack.')
    elif osp.isdir(src):
        found = _find_dataset_folder(src, spec['folder'])
        if found is None:
            raise CIFARDataError(f'No {spec["folder"]}/ folder under {src}.')
        shutil.copytree(found, osp.join(staging, spec['folder']))
    else:
        raise CIFARDataError(f'Source not found: {src}')
    found = _find_dataset_folder(staging, spec['folder'])
    if found is None:
        raise CIFARDataError(
            f'{src} does not contain a {spec["folder"]}/ folder.')
    return found


def prepare(name, src, data_root, force=False):
    """Install ``name`` from ``src`` into ``data_root`` and verify it.

    The data is staged and verified in a temporary folder next to
    ``data_root`` and only then moved into place, so a failure leaves an
    existing dataset untouched, and removes the folders this call created.
    Archives are extracted with a filter that refuses links, special files
    and paths outside the destination.

    Args:
        name (str): ``'cifar10'`` or ``'cifar100'``.
        src (str): The official ``.tar.gz``, a folder containing the standard
            dataset folder, or a pack folder with ``restore.py``.
        data_root (str): Destination; the dataset folder goes inside it.
        force (bool): Replace an existing dataset folder.

    Returns:
        dict: The verification report of the installed data.

    Raises:
        CIFARDataError: the source is missing, damaged, unsafe or not CIFAR,
            or ``data_root`` cannot take it.
    """
    spec = SPECS[name]
    dest = osp.join(data_root, spec['folder'])
    if osp.exists(data_root) and not osp.isdir(data_root):
        raise CIFARDataError(
            f'--data-root {data_root} is a file, not a folder: give the '
            f'folder the dataset folder {spec["folder"]}/ should go into.')
    if osp.exists(dest) and not force:
        raise CIFARDataError(
            f'{dest} already exists; use --force to replace it, '
            f'or --verify to check it.')
    created = osp.abspath(
        data_root)  # topmost folder this call creates, removed on failure
    while not osp.exists(
            osp.dirname(created)) and osp.dirname(created) != created:
        created = osp.dirname(created)
    created = None if osp.exists(created) else created
    os.makedirs(data_root, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(
                dir=data_root, prefix='.prepare-') as staging:
            staged = _stage_source(src, name, staging)
            staged_root = osp.dirname(staged)
            report = verify(staged_root, name)
            if osp.exists(dest):
                old = dest + '.old'
                os.replace(dest, old)
                os.replace(staged, dest)
                shutil.rmtree(old)
            else:
                os.replace(staged, dest)
    except BaseException:
        if created is not None:
            shutil.rmtree(created, ignore_errors=True)
        raise
    report['root'] = osp.abspath(dest)
    return report


def format_report(report):
    origin = ('official files (md5 verified)' if report['official'] else
              'content verified (not byte-identical to the official files: ' +
              ', '.join(report['md5_mismatch']) + ')')
    return (f'{report["name"]} at {report["root"]}: {report["train"]} train / '
            f'{report["test"]} test images, {len(report["classes"])} classes, '
            f'train per class {min(report["train_per_class"])}-'
            f'{max(report["train_per_class"])}; {origin}')
