"""CIFAR datasets that verify content instead of md5 and never unpickle
code."""
import os
import os.path as osp
import shutil

import mmengine.dist as dist
from mmengine.logging import MMLogger
from mmpretrain.datasets import CIFAR10, CIFAR100
from mmpretrain.datasets.utils import download_and_extract_archive

from cifar_plugins.registry import DATASETS
from .cifar_files import (SPECS, CIFARDataError, check_data_root,
                          describe_data_root, load_classes, load_split,
                          prepare_hint)


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

    @classmethod
    def check_data_config(cls, dataset_cfg, key='data_root'):
        """Check a dataset config's data path before anything is built.

        Used by :func:`cifar_plugins.apis.runner.build_runner`, so a bad
        path fails before the Runner writes logs.

        Args:
            dataset_cfg (dict): The dataset's config (``data_root``,
                ``data_prefix``, ``download``).
            key (str): The config key of the path, for messages.

        Raises:
            CIFARDataError: see
                :func:`~cifar_plugins.datasets.cifar_files.check_data_root`.
        """
        data_root = dataset_cfg.get('data_root') or ''
        prefix = dataset_cfg.get('data_prefix') or ''
        if isinstance(prefix, dict):
            prefix = prefix.get('root', '')
        if not isinstance(data_root, str) or not isinstance(prefix, str):
            return
        if not data_root and not prefix:
            raise CIFARDataError(
                f'{key} is not set: set it to the folder that holds '
                f'{SPECS[cls.spec_name]["folder"]}/')
        check_data_root(
            osp.join(data_root, prefix) if prefix else data_root,
            cls.spec_name,
            download=dataset_cfg.get('download', True),
            key=key)

    def load_data_list(self):
        root = self.data_prefix['root']
        spec = SPECS[self.spec_name]
        if dist.is_main_process() and check_data_root(root, self.spec_name,
                                                      self.download):
            self._download(root, spec)
        dist.barrier()
        images, labels = load_split(root, self.spec_name, self.split)
        if self.CLASSES is None:
            self._metainfo.setdefault('classes',
                                      load_classes(root, self.spec_name))
        return [{
            'img': img,
            'gt_label': int(label)
        } for img, label in zip(images, labels)]

    def _download(self, root, spec):
        """Download and extract the official archive into ``root`` (new or
        empty).

        On failure whatever the attempt wrote is removed again and the error
        says what the path holds and how to prepare the data offline.

        Args:
            root (str): The dataset's data root.
            spec (dict): Its entry of
                :data:`~cifar_plugins.datasets.cifar_files.SPECS`.

        Raises:
            CIFARDataError: the download or the extraction failed.
        """
        MMLogger.get_current_instance().info(
            f'{self.spec_name} not found under {root}: '
            f'downloading {spec["url"]}')
        existed, state = osp.isdir(root), describe_data_root(
            root, self.spec_name)
        try:
            download_and_extract_archive(
                spec['url'],
                root,
                filename=spec['archive'],
                md5=spec['archive_md5'])
        except Exception as err:
            if not existed:
                shutil.rmtree(root, ignore_errors=True)
            else:
                for leftover in (spec['archive'], spec['folder']):
                    path = osp.join(root, leftover)
                    if osp.isdir(path):
                        shutil.rmtree(path, ignore_errors=True)
                    elif osp.exists(path):
                        os.remove(path)
            raise CIFARDataError(
                f'{self.spec_name} not found: {state}, and downloading it '
                f'there failed ({type(err).__name__}: {err}). Point '
                f'data_root at the folder that holds {spec["folder"]}/, '
                f'or {prepare_hint(self.spec_name, root, False)}.') from None


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
