"""Read and verify CIFAR files in the standard "python version" layout.

The official files are pickles. Unpickling runs code named in the file, so we
use an unpickler that only rebuilds numpy arrays and plain containers: a
tampered data file fails with :class:`CIFARDataError` instead of executing.
"""
import hashlib
import io
import os
import os.path as osp
import pickle

import numpy as np

from cifar_plugins.errors import UserError


class CIFARDataError(UserError, RuntimeError):
    """CIFAR files are missing, unreadable or do not have the expected
    content."""


SPECS = {
    'cifar10':
    dict(
        folder='cifar-10-batches-py',
        train=[('data_batch_1', 'c99cafc152244af753f735de768cd75f'),
               ('data_batch_2', 'd4bba439e000b95fd0a9bffe97cbabec'),
               ('data_batch_3', '54ebc095f3ab1f0389bbae665268c751'),
               ('data_batch_4', '634d18415352ddfa80567beed471001a'),
               ('data_batch_5', '482c414d41f54cd18b22e5b47cb7c3cb')],
        test=[('test_batch', '40351d587109b95175f43aff81a1287e')],
        meta=('batches.meta', '5ff9c542aee3614f3951f8cda6e48888'),
        meta_key='label_names',
        label_key='labels',
        num_classes=10,
        url='https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz',
        archive='cifar-10-python.tar.gz',
        archive_md5='c58f30108f718f92721af3b95e74349a'),
    'cifar100':
    dict(
        folder='cifar-100-python',
        train=[('train', '16019d7e3df5f24257cddd939b257f8d')],
        test=[('test', 'f0ef6b0ae62326f3e7ffdfab6717acfc')],
        meta=('meta', '7973b15100ade9c7d40fb424638fde48'),
        meta_key='fine_label_names',
        label_key='fine_labels',
        num_classes=100,
        url='https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz',
        archive='cifar-100-python.tar.gz',
        archive_md5='eb9058c3a382ffc7106e4002c42a8d85'),
}
SPLIT_SIZES = {'train': 50000, 'test': 10000}
PREPARE_HINT = (
    'prepare it offline with python tools/prepare_cifar.py {name} --src '
    'ARCHIVE_OR_FOLDER --data-root {root} (ARCHIVE_OR_FOLDER: the official '
    '{archive}, or a folder holding {folder}/)')


def prepare_hint(name, data_root, download_option=True):
    """One-line advice on how to get ``name`` into ``data_root``.

    Args:
        name (str): ``'cifar10'`` or ``'cifar100'``.
        data_root (str): The folder the data should be in.
        download_option (bool): Also mention ``download=True``.
    """
    hint = PREPARE_HINT.format(
        name=name, root=osp.normpath(data_root), **SPECS[name])
    return hint + (', or set download=True with internet access'
                   if download_option else '')


class _DataOnlyUnpickler(pickle.Unpickler):
    _ALLOWED = {
        ('numpy.core.multiarray', '_reconstruct'),
        ('numpy._core.multiarray', '_reconstruct'),
        ('numpy.core.multiarray', 'scalar'),
        ('numpy._core.multiarray', 'scalar'),
        ('numpy', 'ndarray'),
        ('numpy', 'dtype'),
        ('copyreg', '_reconstructor'),
        ('builtins', 'object'),
        ('_codecs', 'encode'),  # protocol-2 pickles store bytes as encoded str
    }

    def find_class(self, module, name):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f'global {module}.{name} is not allowed in a CIFAR data file')


def load_pickle(path):
    """Unpickle a CIFAR file allowing only numpy arrays and containers."""
    try:
        with open(path, 'rb') as f:
            return _DataOnlyUnpickler(
                io.BytesIO(f.read()), encoding='latin1').load()
    except FileNotFoundError:
        raise
    except Exception as err:  # truncated, not a pickle, hostile globals...
        raise CIFARDataError(f'Cannot read CIFAR file {path}: {err}') from None


def md5sum(path, chunk=1 << 20):
    digest = hashlib.md5()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''):
            digest.update(block)
    return digest.hexdigest()


def split_files(name, split):
    spec = SPECS[name]
    return [f for f, _ in spec[split]]


def missing_files(data_root, name):
    spec = SPECS[name]
    folder = osp.join(data_root, spec['folder'])
    wanted = [f for f, _ in spec['train'] + spec['test']] + [spec['meta'][0]]
    return [
        osp.join(folder, f) for f in wanted
        if not osp.isfile(osp.join(folder, f))
    ]


def describe_data_root(data_root, name, missing=()):
    """What ``data_root`` holds instead of the dataset, as a phrase for
    messages.

    Args:
        data_root (str): Folder that should hold the dataset folder.
        name (str): ``'cifar10'`` or ``'cifar100'``.
        missing (Sequence[str]): Paths of the missing files.
    """
    folder = SPECS[name]['folder']
    data_root = osp.normpath(data_root)
    root = osp.abspath(data_root)
    if not osp.exists(data_root):
        return f'data_root {root} does not exist'
    if not os.listdir(data_root):
        return f'data_root {root} is an empty folder (no {folder}/ in it)'
    if not osp.isdir(osp.join(data_root, folder)):
        return f'data_root {root} has no {folder}/ folder'
    names = ', '.join(osp.basename(m) for m in missing)
    return f'{folder}/ under {root} lacks {names}'


def missing_data_error(data_root, name, missing, download_option=True):
    """The :class:`CIFARDataError` for missing files, saying what the path
    holds.

    Args:
        data_root (str): Folder that should hold the dataset folder.
        name (str): ``'cifar10'`` or ``'cifar100'``.
        missing (list[str]): Paths of the missing files.
        download_option (bool): Mention ``download=True`` in the advice.
    """
    state = describe_data_root(data_root, name, missing)
    return CIFARDataError(
        f'{name} not found: {state}. Point data_root at the folder that '
        f'holds {SPECS[name]["folder"]}/, or ' +
        prepare_hint(name, data_root, download_option) + '.')


def check_data_root(data_root, name, download=False, key='data_root'):
    """Check that ``data_root`` holds ``name``, or may receive a download.

    Args:
        data_root (str): Folder that should hold the dataset folder.
        name (str): ``'cifar10'`` or ``'cifar100'``.
        download (bool): Whether the caller would download missing data.
        key (str): How the path is called in messages (a config key).

    Returns:
        bool: True when files are missing and may be downloaded into
        ``data_root`` (it does not exist, or holds no part of the dataset).

    Raises:
        CIFARDataError: ``data_root`` is a file or the dataset folder
            itself, holds part of the dataset (never downloaded over), or
            misses the data and ``download`` is False.
    """
    spec = SPECS[name]
    data_root = osp.normpath(
        data_root)  # 'file/' does not "exist": check 'file'
    root = osp.abspath(data_root)
    if osp.exists(data_root) and not osp.isdir(data_root):
        raise CIFARDataError(
            f'{key} {root} is a file, not a folder: set it to the folder '
            f'that holds {spec["folder"]}/')
    missing = missing_files(data_root, name)
    if not missing:
        return False
    wanted = [f for f, _ in spec['train'] + spec['test']] + [spec['meta'][0]]
    if osp.isdir(data_root) and (osp.basename(root) == spec['folder'] or any(
            osp.isfile(osp.join(data_root, f)) for f in wanted)):
        raise CIFARDataError(
            f'{key} {root} is the {spec["folder"]}/ folder itself: set it '
            f'to the folder that holds it ({osp.dirname(root)})')
    folder = osp.join(data_root, spec['folder'])
    if osp.isdir(folder):
        raise CIFARDataError(
            f'{name} under {root} is incomplete: {spec["folder"]}/ '
            f'lacks {", ".join(osp.basename(m) for m in missing)}. '
            'Nothing is downloaded into a folder that holds part of a '
            'dataset: restore the missing files, or replace the '
            f'folder with python tools/prepare_cifar.py {name} --src '
            f'ARCHIVE_OR_FOLDER --data-root {data_root} --force')
    archive = osp.join(data_root, spec['archive'])
    if osp.isfile(archive):
        raise CIFARDataError(
            f'{root} holds {spec["archive"]} but no {spec["folder"]}/ '
            '(an interrupted download or copy?). Nothing is '
            'downloaded over it: extract it with python '
            f'tools/prepare_cifar.py {name} --src {archive} '
            f'--data-root {data_root}, or delete it to download again')
    if not download:
        raise missing_data_error(data_root, name, missing)
    return True


def load_split(data_root, name, split):
    """Load one split as (uint8 images N x 32 x 32 x 3, int64 labels).

    Args:
        data_root (str): Folder that holds the dataset folder
            (``cifar-10-batches-py`` or ``cifar-100-python``).
        name (str): ``'cifar10'`` or ``'cifar100'``.
        split (str): ``'train'`` or ``'test'``.

    Raises:
        CIFARDataError: on missing files or content that is not CIFAR
            (wrong shape, dtype, label range or number of images).
    """
    spec = SPECS[name]
    check_data_root(data_root, name)
    images, labels = [], []
    for fname in split_files(name, split):
        path = osp.join(data_root, spec['folder'], fname)
        entry = load_pickle(path)
        data = entry.get('data') if isinstance(entry, dict) else None
        if not isinstance(data, np.ndarray) or data.dtype != np.uint8 \
                or data.ndim != 2 or data.shape[1] != 3072:
            raise CIFARDataError(
                f'{path}: expected a uint8 "data" array of shape (N, 3072), '
                f'got {getattr(data, "dtype", type(data))} '
                f'{getattr(data, "shape", "")}')
        lab = np.asarray(entry.get(spec['label_key'], []), dtype=np.int64)
        if len(lab) != len(data):
            raise CIFARDataError(f'{path}: {len(data)} images but {len(lab)} '
                                 f'"{spec["label_key"]}" labels')
        if len(lab) and (lab.min() < 0 or lab.max() >= spec['num_classes']):
            raise CIFARDataError(
                f'{path}: labels outside 0..{spec["num_classes"] - 1}')
        images.append(data)
        labels.append(lab)
    images = np.concatenate(images).reshape(-1, 3, 32,
                                            32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), np.concatenate(labels)


def load_classes(data_root, name):
    spec = SPECS[name]
    path = osp.join(data_root, spec['folder'], spec['meta'][0])
    meta = load_pickle(path)
    classes = meta.get(spec['meta_key']) if isinstance(meta, dict) else None
    if not classes or len(classes) != spec['num_classes']:
        raise CIFARDataError(
            f'{path}: expected {spec["num_classes"]} class names '
            f'under "{spec["meta_key"]}"')
    return tuple(classes)


def verify(data_root, name):
    """Fully check a prepared dataset and report whether it is the official
    one.

    Unlike :func:`load_split` (used by the datasets, which also accept
    subsets), this requires the full 50000/10000 images.

    Returns:
        dict: ``official`` (all md5 match the official files), per-split image
        counts and per-class counts.
    """
    spec = SPECS[name]
    report = dict(
        name=name, root=osp.abspath(osp.join(data_root, spec['folder'])))
    for split in ('train', 'test'):
        _, labels = load_split(data_root, name, split)
        if len(labels) != SPLIT_SIZES[split]:
            raise CIFARDataError(
                f'{name} {split} split under {data_root} has '
                f'{len(labels)} images, expected '
                f'{SPLIT_SIZES[split]}: the files are incomplete.')
        report[split] = len(labels)
        report[f'{split}_per_class'] = np.bincount(
            labels, minlength=spec['num_classes']).tolist()
    report['classes'] = load_classes(data_root, name)
    files = spec['train'] + spec['test'] + [spec['meta']]
    report['md5_mismatch'] = [
        f for f, md5 in files
        if md5sum(osp.join(data_root, spec['folder'], f)) != md5
    ]
    report['official'] = not report['md5_mismatch']
    return report
