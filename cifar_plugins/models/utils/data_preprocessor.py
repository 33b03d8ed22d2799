"""Data preprocessor that augments CIFAR batches on tensors."""
import logging

import torch
import torch.nn.functional as F
from mmengine.logging import MessageHub, print_log
from mmpretrain.models.utils import ClsDataPreprocessor

from cifar_plugins.registry import MODELS
from .batch_augment import alternating_flip, batch_cutout, random_crop_flip


@MODELS.register_module()
class CIFARDataPreprocessor(ClsDataPreprocessor):
    """:class:`ClsDataPreprocessor` plus batch-level crop/flip/Cutout and
    channels-last.

    With this preprocessor the dataset pipeline only needs ``PackInputs``:
    the random translation and flip run once per batch on the (uint8) tensor
    instead of twice per image in Python, which matters on CPUs with few
    cores. Normalisation, Mixup/CutMix ``batch_augments`` and label handling
    are :class:`ClsDataPreprocessor`'s. Cutout (DeVries & Taylor, 2017) runs
    after crop/flip, before normalisation; the hole is filled with the
    normalisation mean, so it is 0 after normalisation as in the paper, which
    cuts out normalised images.

    Args:
        crop_padding (int): Random-translation padding during training; 0
            disables it. Defaults to 4.
        flip_prob (float): Horizontal flip probability during training.
            Defaults to 0.5.
        flip_mode (str): ``'random'`` (each batch draws flips with
            ``flip_prob``) or ``'alternate'`` (airbench: each image is flipped
            in every other epoch, see :func:`alternating_flip`; needs the
            samples' dataset indices, which ``InMemoryBatchDataset`` batches
            and ``PackInputs`` metainfo carry). Defaults to 'random'.
        crop_pad_mode (str): ``'constant'`` (zero) or ``'reflect'`` padding
            of the random translation. Defaults to 'constant'.
        cutout_size (int): Side of the Cutout square during training (16 for
            CIFAR-10, 8 for CIFAR-100 in the paper); 0 disables it.
            Defaults to 0.
        channels_last (bool): Return inputs in channels-last memory format,
            which oneDNN (CPU) and cuDNN (tensor cores) convolve faster.
            Defaults to False.
        train_size_schedule (Sequence[tuple[int, int]], optional):
            Progressive resizing: ``((first_epoch, side), ...)`` sorted by
            epoch (0-based); from ``first_epoch`` on, training batches are
            resized (bilinear, antialiased) to ``side x side`` after
            augmentation and normalisation. A convolution's cost scales
            with the pixels, so ``((0, 24), (3, 32))`` makes the first three
            epochs ~0.56x as expensive; the last entry should be the full
            size, which validation and test always use (a warning is
            logged once if the last stage trains at another size). The
            network must take any input size (global pooling). Defaults to
            None.
        **kwargs: Arguments of :class:`ClsDataPreprocessor` (``mean``,
            ``std``, ``num_classes``, ``batch_augments``...).
    """

    def __init__(self,
                 crop_padding=4,
                 flip_prob=0.5,
                 cutout_size=0,
                 channels_last=False,
                 flip_mode='random',
                 crop_pad_mode='constant',
                 train_size_schedule=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.train_size_schedule = self._check_size_schedule(
            train_size_schedule)
        self._warned_last_stage = False
        if flip_mode not in ('random', 'alternate'):
            raise ValueError(
                f"flip_mode must be 'random' or 'alternate', got {flip_mode!r}"
            )
        if crop_pad_mode not in ('constant', 'reflect'):
            raise ValueError(f"crop_pad_mode must be 'constant' or 'reflect', "
                             f"got {crop_pad_mode!r}")
        self.flip_mode = flip_mode
        self.crop_pad_mode = crop_pad_mode
        if cutout_size < 0:
            raise ValueError(f'cutout_size must be >= 0, got {cutout_size}')
        self.crop_padding = crop_padding
        self.flip_prob = flip_prob
        self.cutout_size = cutout_size
        self.channels_last = channels_last

    def forward(self, data, training=False):
        inputs = data['inputs']
        if isinstance(inputs, (list, tuple)):
            if len({tuple(x.shape) for x in inputs}) != 1:
                raise ValueError(
                    'CIFARDataPreprocessor needs equally sized images; '
                    'resize them in the pipeline first.')
            inputs = torch.stack(inputs)
        inputs = inputs.to(self.device, non_blocking=True)
        if training and (self.crop_padding > 0 or self.flip_prob > 0):
            flip = self._alternating_flip(
                data) if self.flip_mode == 'alternate' else None
            inputs = random_crop_flip(
                inputs,
                self.crop_padding,
                self.flip_prob,
                pad_mode=self.crop_pad_mode,
                flip=flip)
        if training and self.cutout_size > 0:
            inputs = batch_cutout(inputs.float(), self.cutout_size,
                                  self._cutout_fill(inputs.size(1)))
        data = super().forward({**data, 'inputs': inputs}, training)
        side = self._train_side() if training else None
        if side is not None and side != data['inputs'].shape[-1]:
            self._warn_if_last_stage_is_resized(side, data['inputs'].shape[-1])
            data['inputs'] = F.interpolate(
                data['inputs'],
                size=(side, side),
                mode='bilinear',
                antialias=True,
                align_corners=False)
        if self.channels_last:
            data['inputs'] = data['inputs'].contiguous(
                memory_format=torch.channels_last)
        return data

    @staticmethod
    def _epoch():
        """The 0-based training epoch mmengine's RuntimeInfoHook records."""
        return MessageHub.get_current_instance().get_info('epoch', 0)

    @staticmethod
    def _check_size_schedule(schedule):
        if schedule is None:
            return None
        schedule = [tuple(entry) for entry in schedule]
        if (not schedule or any(len(e) != 2 for e in schedule)
                or any(not isinstance(v, int) or v < 0 for e in schedule
                       for v in e) or any(side < 1 for _, side in schedule)):
            raise ValueError('train_size_schedule must be ((first_epoch, '
                             'side), ...) with non-negative integer '
                             f'epochs and positive sides, got {schedule!r}')
        epochs = [epoch for epoch, _ in schedule]
        if epochs != sorted(set(epochs)):
            raise ValueError(
                f'train_size_schedule epochs must increase, got {epochs}')
        return schedule

    def _warn_if_last_stage_is_resized(self, side, full_side):
        # evaluation always sees full-size images, so a schedule that never
        # returns to them trains the final epochs on a resolution the model is
        # not tested at
        if self._warned_last_stage or self._epoch(
        ) < self.train_size_schedule[-1][0]:
            return
        self._warned_last_stage = True
        print_log(
            f'train_size_schedule ends at {side} px but the '
            f'inputs (and evaluation) are {full_side} px; end the '
            f'schedule with (epoch, {full_side}) to train the '
            'last epochs at the size the model is tested at',
            logger='current',
            level=logging.WARNING)

    def _train_side(self):
        if not self.train_size_schedule:
            return None
        epoch = self._epoch()
        side = None
        for first_epoch, entry_side in self.train_size_schedule:
            if epoch >= first_epoch:
                side = entry_side
        return side

    def _alternating_flip(self, data):
        sample_idx = data.get('sample_idx')
        if sample_idx is None:
            samples = data.get('data_samples') or []
            if not samples or 'sample_idx' not in samples[0]:
                raise ValueError(
                    "flip_mode='alternate' needs the samples' dataset indices "
                    "(InMemoryBatchDataset batches or PackInputs metainfo)")
            sample_idx = torch.tensor([s.sample_idx for s in samples])
        return alternating_flip(torch.as_tensor(sample_idx), self._epoch())

    def _cutout_fill(self, channels):
        """Per-channel normalisation mean in the input's channel order."""
        if not self._enable_normalize:
            return 0
        fill = self.mean.flatten()
        if self.to_rgb and channels == 3:
            fill = fill.flip(
                0)  # ClsDataPreprocessor swaps channels after this
        return fill
