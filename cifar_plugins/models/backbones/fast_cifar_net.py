"""A small, fast CIFAR network for short CPU budgets (airbench-style)."""
from collections import OrderedDict

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from cifar_plugins.registry import MODELS
from ..utils.whitening import WhiteningConv2d

# state-dict names of ConvGroup before its layers were named (nn.Sequential
# indices)
_OLD_GROUP_KEYS = {'0': 'conv1', '2': 'norm1', '4': 'conv2', '5': 'norm2'}


def _norm(channels, momentum, affine_weight):
    norm = nn.BatchNorm2d(
        channels, momentum=momentum, eps=1e-12 if not affine_weight else 1e-5)
    if not affine_weight:  # scale fixed at 1: only the shift is learned
        norm.weight.requires_grad_(False)
    return norm


class ConvGroup(nn.Sequential):
    """conv3x3 -> max-pool 2 -> BN -> GELU -> conv3x3 -> BN -> GELU.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        bn_momentum (float): BatchNorm momentum.
        bn_affine_weight (bool): Learn the BN scale; False fixes it at 1.
    """

    def __init__(self,
                 in_channels,
                 out_channels,
                 bn_momentum,
                 bn_affine_weight=True):
        super().__init__(
            OrderedDict([
                ('conv1',
                 nn.Conv2d(
                     in_channels, out_channels, 3, padding=1, bias=False)),
                ('pool', nn.MaxPool2d(2)),
                ('norm1', _norm(out_channels, bn_momentum, bn_affine_weight)),
                ('act1', nn.GELU()),
                ('conv2',
                 nn.Conv2d(
                     out_channels, out_channels, 3, padding=1, bias=False)),
                ('norm2', _norm(out_channels, bn_momentum, bn_affine_weight)),
                ('act2', nn.GELU())
            ]))
        self._register_load_state_dict_pre_hook(self._rename_old_keys)

    @staticmethod
    def _rename_old_keys(state_dict, prefix, *args):
        for key in [k for k in state_dict if k.startswith(prefix)]:
            index, _, rest = key[len(prefix):].partition('.')
            if index in _OLD_GROUP_KEYS:
                new_key = f'{prefix}{_OLD_GROUP_KEYS[index]}.{rest}'
                state_dict[new_key] = state_dict.pop(key)


@MODELS.register_module()
class FastCIFARNet(BaseModule):
    """VGG-style network tuned for speed, after Keller Jordan's airbench.

    A stem and three conv groups, each halving the resolution with
    max-pooling *before* its BN (cheaper than pooling after), so most work
    happens at 16x16 and below. With the default 3x3 conv stem and widths
    (32, 64, 128) it does 24 MMACs per image (0.30M parameters), 1/23 of a
    CIFAR ResNet18's 557 MMACs.

    The airbench94 parts are options: ``stem='whitening'`` is a frozen 2x2
    patch-whitening conv (:class:`WhiteningConv2d`, 24 filters, no padding,
    fitted from training images by ``WhiteningInitHook``) followed by GELU;
    ``dirac_init`` starts each group conv as an identity on its first
    ``in_channels`` outputs (``nn.init.dirac_``), the rest keeping PyTorch's
    default init; ``bn_affine_weight=False`` fixes every BN scale at 1 (the
    shifts are learned; give them a larger lr with ``paramwise_cfg``, see
    ``configs/fast``). ``final_pool='max'`` ends with a global max-pool
    times ``out_scale`` (airbench: ``MaxPool(3)`` on the 3x3 map, logits
    x 1/9), so the neck is ``None``.

    Args:
        widths (Sequence[int]): Channels of the three conv groups.
        stem_channels (int): Channels of the 3x3 conv stem (``stem='conv'``).
        bn_momentum (float): BatchNorm momentum; higher than PyTorch's 0.1
            so running statistics keep up in short schedules.
        stem (str): ``'conv'`` (3x3 conv + BN + GELU) or ``'whitening'``.
        stem_stride (int): Stride of the stem. 2 with ``stem='whitening'``
            turns the 2x2 patches into a lossless space-to-depth step: the
            groups run at 16/8/4 pixels, ~1/3 of the MACs at the same widths
            (a short-budget trade of resolution for width). Defaults to 1.
        whiten_eps (float): ``eps`` of the whitening stem.
        dirac_init (bool): Identity-initialise the group convs.
        bn_affine_weight (bool): Learn the BN scales. Defaults to True.
        final_pool (str | None): ``None`` returns the feature map (use a
            pooling neck); ``'max'`` returns globally max-pooled features.
        out_scale (float): Multiplies the pooled features (``final_pool``).
        init_cfg (dict | list, optional): mmengine initialisation config.
    """

    def __init__(self,
                 widths=(32, 64, 128),
                 stem_channels=24,
                 bn_momentum=0.2,
                 stem='conv',
                 whiten_eps=5e-4,
                 dirac_init=False,
                 bn_affine_weight=True,
                 final_pool=None,
                 out_scale=1.0,
                 stem_stride=1,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if stem_stride not in (1, 2):
            raise ValueError(
                f'stem_stride must be 1 or 2, got {stem_stride!r}')
        if stem == 'conv':
            self.stem = nn.Sequential(
                nn.Conv2d(
                    3,
                    stem_channels,
                    3,
                    stride=stem_stride,
                    padding=1,
                    bias=False),
                _norm(stem_channels, bn_momentum, bn_affine_weight), nn.GELU())
        elif stem == 'whitening':
            whiten = WhiteningConv2d(
                3, kernel_size=2, eps=whiten_eps, stride=stem_stride)
            stem_channels = whiten.out_channels
            self.stem = nn.Sequential(whiten, nn.GELU())
        else:
            raise ValueError(
                f"stem must be 'conv' or 'whitening', got {stem!r}")
        if final_pool not in (None, 'max'):
            raise ValueError(
                f"final_pool must be None or 'max', got {final_pool!r}")
        chans = (stem_channels, *widths)
        self.groups = nn.Sequential(
            *(ConvGroup(chans[i], chans[i + 1], bn_momentum, bn_affine_weight)
              for i in range(len(widths))))
        self.dirac_init = dirac_init
        self.final_pool = final_pool
        self.out_scale = out_scale
        self.out_channels = widths[-1]
        if dirac_init:
            self._init_dirac()

    @torch.no_grad()
    def _init_dirac(self):
        for group in self.groups:
            for conv in (group.conv1, group.conv2):
                nn.init.dirac_(conv.weight[:conv.in_channels])

    def init_weights(self):
        super().init_weights()
        if self.dirac_init and not self.init_cfg:
            self._init_dirac()

    def forward(self, x):
        x = self.groups(self.stem(x))
        if self.final_pool == 'max':
            x = torch.amax(x, dim=(2, 3)) * self.out_scale
        return (x, )
