"""Prepare CIFAR offline from an archive or a folder, verified, written atomically."""
import os
import os.path as osp
import shutil
import subprocess
import sys
import tarfile
import tempfile

from .cifar_files import SPECS, CIFARDataError, md5sum, verify


def _find_dataset_folder(top, folder_name):
    for root, dirs, _ in os.walk(top):
        if osp.basename(root) == folder_name:
            return root
        if folder_name in dirs:
            return osp.join(root, folder_name)
    return None


def _stage_source(src, name, staging):
    """Put ``src``'s dataset folder under ``staging``; return its path there."""
    spec = SPECS[name]
    if osp.isfile(src):
        if not tarfile.is_tarfile(src):
            raise CIFARDataError(f'{src} is not a tar archive (expected {spec["archive"]}).')
        if osp.basename(src) == spec['archive'] and md5sum(src) != spec['archive_md5']:
            print(f'note: {src} is not byte-identical to the official archive; '
                  f'its content is verified instead.')
        with tarfile.open(src) as tar:
            tar.extractall(staging, filter='data')  # no absolute paths or links out
    elif osp.isfile(osp.join(src, 'restore.py')) and osp.isdir(osp.join(src, name)):
        # a compressed pack with its own restore script (as in ../shared/cifar)
        subprocess.run([sys.executable, osp.join(src, 'restore.py'), staging, name],
                       check=True)
    elif osp.isdir(src):
        found = _find_dataset_folder(src, spec['folder'])
        if found is None:
            raise CIFARDataError(f'No {spec["folder"]}/ folder under {src}.')
        shutil.copytree(found, osp.join(staging, spec['folder']))
    else:
        raise CIFARDataError(f'Source not found: {src}')
    found = _find_dataset_folder(staging, spec['folder'])
    if found is None:
        raise CIFARDataError(f'{src} does not contain a {spec["folder"]}/ folder.')
    return found


def prepare(name, src, data_root, force=False):
    """Install ``name`` from ``src`` into ``data_root`` and verify it.

    The data is staged and verified in a temporary folder next to
    ``data_root`` and only then moved into place, so a failure leaves an
    existing dataset untouched.

    Args:
        name (str): ``'cifar10'`` or ``'cifar100'``.
        src (str): The official ``.tar.gz``, a folder containing the standard
            dataset folder, or a pack folder with ``restore.py``.
        data_root (str): Destination; the dataset folder goes inside it.
        force (bool): Replace an existing dataset folder.

    Returns:
        dict: The verification report of the installed data.
    """
    spec = SPECS[name]
    dest = osp.join(data_root, spec['folder'])
    if osp.exists(dest) and not force:
        raise CIFARDataError(f'{dest} already exists; use --force to replace it, '
                             f'or --verify to check it.')
    os.makedirs(data_root, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=data_root, prefix='.prepare-') as staging:
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
    report['root'] = osp.abspath(dest)
    return report


def format_report(report):
    origin = ('official files (md5 verified)' if report['official'] else
              'content verified (not byte-identical to the official files: '
              + ', '.join(report['md5_mismatch']) + ')')
    return (f'{report["name"]} at {report["root"]}: {report["train"]} train / '
            f'{report["test"]} test images, {len(report["classes"])} classes, '
            f'train per class {min(report["train_per_class"])}-'
            f'{max(report["train_per_class"])}; {origin}')
