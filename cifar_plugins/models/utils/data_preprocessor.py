"""Data preprocessor that augments CIFAR batches on tensors."""
import torch
from mmpretrain.models.utils import ClsDataPreprocessor

from cifar_plugins.registry import MODELS
from .batch_augment import random_crop_flip


@MODELS.register_module()
class CIFARDataPreprocessor(ClsDataPreprocessor):
    """:class:`ClsDataPreprocessor` plus batch-level crop/flip and channels-last.

    With this preprocessor the dataset pipeline only needs ``PackInputs``:
    the random translation and flip run once per batch on the (uint8) tensor
    instead of twice per image in Python, which matters on CPUs with few
    cores. Normalisation, Mixup/CutMix ``batch_augments`` and label handling
    are :class:`ClsDataPreprocessor`'s.

    Args:
        crop_padding (int): Random-translation padding during training; 0
            disables it. Defaults to 4.
        flip_prob (float): Horizontal flip probability during training.
            Defaults to 0.5.
        channels_last (bool): Return inputs in channels-last memory format,
            which oneDNN (CPU) and cuDNN (tensor cores) convolve faster.
            Defaults to False.
        **kwargs: Arguments of :class:`ClsDataPreprocessor` (``mean``,
            ``std``, ``num_classes``, ``batch_augments``...).
    """

    def __init__(self, crop_padding=4, flip_prob=0.5, channels_last=False, **kwargs):
        super().__init__(**kwargs)
        self.crop_padding = crop_padding
        self.flip_prob = flip_prob
        self.channels_last = channels_last

    def forward(self, data, training=False):
        inputs = data['inputs']
        if isinstance(inputs, (list, tuple)):
            if len({tuple(x.shape) for x in inputs}) != 1:
                raise ValueError('CIFARDataPreprocessor needs equally sized images; '
                                 'resize them in the pipeline first.')
            inputs = torch.stack(inputs)
        inputs = inputs.to(self.device, non_blocking=True)
        if training and (self.crop_padding > 0 or self.flip_prob > 0):
            inputs = random_crop_flip(inputs, self.crop_padding, self.flip_prob)
        data = super().forward({**data, 'inputs': inputs}, training)
        if self.channels_last:
            data['inputs'] = data['inputs'].contiguous(memory_format=torch.channels_last)
        return data
