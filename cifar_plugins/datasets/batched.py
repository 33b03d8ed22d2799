"""Whole uint8 batches from memory, through the standard DataLoader and
sampler.

CIFAR is 150 MB as uint8. mmengine's default path builds every batch from
per-sample Python (``__getitem__``, the pipeline's ``PackInputs``, collate),
which on two CPU cores costs a noticeable share of each training step and,
in a DataLoader worker, competes with the training threads. Here the images
live in one ``(N, 3, H, W)`` uint8 tensor; torch's DataLoader hands a whole
list of indices to ``dataset.__getitems__`` (it does so whenever a batch
sampler is used and the dataset defines it), so a batch is one gather. The
sampler stays mmengine's ``DefaultSampler`` (seeded shuffle per epoch, DDP
sharding, resume), so nothing about the order of samples changes.
"""
import numpy as np
import torch
# collate functions live in mmengine's root registry
from mmengine.registry import FUNCTIONS
from mmpretrain.structures import DataSample

from cifar_plugins.registry import DATASETS


@DATASETS.register_module()
class InMemoryBatchDataset:
    """Wrap an image classification dataset so batches are gathered from
    memory.

    Args:
        dataset (dict | Dataset): The dataset (config), e.g.
            ``dict(type='VerifiedCIFAR10', ...)``; its pipeline is not used:
            every sample must hold ``img`` (H x W x C uint8, all the same size)
            and ``gt_label``. Augmentation belongs in the data preprocessor.
        pin_memory (bool): Pin the image tensor (CUDA host-to-device copies
            overlap with compute). Defaults to False.
        **dataset_overrides: Set in the wrapped dataset's config, so the keys
            users already pass keep working on a wrapped config, e.g.
            ``--cfg-options train_dataloader.dataset.data_root=DIR`` or
            ``train_dataloader.dataset.indices=10000``.

    Use it with ``collate_fn=dict(type='batch_passthrough')``; each batch is
    ``dict(inputs=uint8 tensor (B, C, H, W), data_samples=[DataSample, ...],
    sample_idx=tensor (B,))``, what mmpretrain's data preprocessors take (the
    indices serve ``CIFARDataPreprocessor(flip_mode='alternate')``).
    """

    def __init__(self, dataset, pin_memory=False, **dataset_overrides):
        if isinstance(dataset, dict):
            dataset = DATASETS.build({**dataset, **dataset_overrides})
        elif dataset_overrides:
            raise TypeError(
                f'InMemoryBatchDataset: {sorted(dataset_overrides)} can '
                'only be set when the dataset is given as a config dict')
        self.dataset = dataset
        infos = [dataset.get_data_info(i) for i in range(len(dataset))]
        if not infos:
            raise ValueError(
                'InMemoryBatchDataset: the wrapped dataset is empty')
        images = np.stack([info['img'] for info in infos])
        if images.dtype != np.uint8 or images.ndim != 4:
            raise ValueError('InMemoryBatchDataset needs H x W x C '
                             'uint8 images of one size, got an array of '
                             f'{images.dtype} with shape {images.shape}')
        self.images = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()
        self.labels = torch.as_tensor(
            [int(info['gt_label']) for info in infos])
        if pin_memory and torch.cuda.is_available():
            self.images = self.images.pin_memory()

    @property
    def metainfo(self):
        return self.dataset.metainfo

    def get_gt_labels(self):
        return self.labels.numpy()

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        return self.__getitems__([index])

    def __getitems__(self, indices):
        index = torch.as_tensor(indices, dtype=torch.long)
        labels = self.labels[index]
        samples = []
        # (1,) int64 views of the batch's labels: set_gt_label's dtype and
        # shape, ~3x cheaper
        for label in labels.split(1):
            sample = DataSample()
            sample.gt_label = label
            samples.append(sample)
        return dict(
            inputs=self.images[index], data_samples=samples, sample_idx=index)


@FUNCTIONS.register_module()
def batch_passthrough(batch):
    """Collate function for :class:`InMemoryBatchDataset`: the batch is
    ready."""
    if isinstance(batch,
                  list):  # a single __getitem__ per sample (no batch sampler)
        return dict(
            inputs=torch.cat([b['inputs'] for b in batch]),
            data_samples=[s for b in batch for s in b['data_samples']],
            sample_idx=torch.cat([b['sample_idx'] for b in batch]))
    return batch
