"""CIFAR datasets that verify content instead of md5 and never unpickle code."""
import os.path as osp

import mmengine.dist as dist
from mmengine.logging import MMLogger
from mmpretrain.datasets import CIFAR10, CIFAR100
from mmpretrain.datasets.utils import download_and_extract_archive

from cifar_plugins.registry import DATASETS
from .cifar_files import (SPECS, CIFARDataError, load_classes, load_split,
                          missing_data_error, missing_files)


class _VerifiedCIFARMixin:
    """Replaces mmpretrain's loading of CIFAR files.

    mmpretrain's ``CIFAR10``/``CIFAR100`` accept the files only when their md5
    equals the official one and otherwise try to download. Copies that are
    re-encoded (e.g. restored from another format) hold the same data with a
    different md5. Here the content is checked instead (shapes, dtype, label
    range, image counts) and downloading happens only when files are missing
    and ``download=True``; a failed download or missing data raises one
    :class:`CIFARDataError` that names the path and the fix.
    """

    spec_name = None

    def load_data_list(self):
        root = self.data_prefix['root']
        spec = SPECS[self.spec_name]
        if dist.is_main_process():
            missing = missing_files(root, self.spec_name)
            if missing and self.download:
                self._download(root, spec)
            elif missing:
                raise missing_data_error(root, self.spec_name, missing)
        dist.barrier()
        images, labels = load_split(root, self.spec_name, self.split)
        if self.CLASSES is None:
            self._metainfo.setdefault('classes', load_classes(root, self.spec_name))
        return [{'img': img, 'gt_label': int(label)}
                for img, label in zip(images, labels)]

    def _download(self, root, spec):
        MMLogger.get_current_instance().info(
            f'{self.spec_name} not found under {root}: downloading {spec["url"]}')
        try:
            download_and_extract_archive(spec['url'], root, filename=spec['archive'],
                                         md5=spec['archive_md5'])
        except Exception as err:
            raise CIFARDataError(
                f'Could not download {self.spec_name} to {osp.abspath(root)} '
                f'({type(err).__name__}: {err}). Without internet, prepare it with '
                f'python tools/prepare_cifar.py {self.spec_name} --src '
                f'ARCHIVE_OR_FOLDER --data-root {root}') from None


@DATASETS.register_module()
class VerifiedCIFAR10(_VerifiedCIFARMixin, CIFAR10):
    """CIFAR-10 in the standard layout, verified by content.

    Args:
        data_root (str): Folder holding ``cifar-10-batches-py/``.
        split (str): ``'train'`` or ``'test'``.
        download (bool): Download the official archive when files are missing.
            Defaults to True, like mmpretrain.
        **kwargs: Other arguments of :class:`mmpretrain.datasets.CIFAR10`
            (``pipeline``, ``indices`` for a subset, ``test_mode``...).
    """
    spec_name = 'cifar10'


@DATASETS.register_module()
class VerifiedCIFAR100(_VerifiedCIFARMixin, CIFAR100):
    """CIFAR-100 (fine labels) in the standard layout, verified by content.

    Args:
        data_root (str): Folder holding ``cifar-100-python/``.
        split (str): ``'train'`` or ``'test'``.
        download (bool): Download the official archive when files are missing.
        **kwargs: Other arguments of :class:`mmpretrain.datasets.CIFAR100`.
    """
    spec_name = 'cifar100'
