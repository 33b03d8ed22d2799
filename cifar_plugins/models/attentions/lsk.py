"""LSK: large selective kernel attention (LSKNet, Li et al., ICCV 2023)."""
import torch
import torch.nn as nn
from mmengine.model import BaseModule

from ..utils.attention import register_attention
from ._unit import AttentionUnitMixin, check_form


@register_attention('lsk')
class LSKAttention(AttentionUnitMixin, BaseModule):
    """Large Selective Kernel module in LSKNet's attention unit.

    A large receptive field is decomposed into a 5x5 depthwise conv followed
    by a 7x7 depthwise conv with dilation 3 (receptive field 23). Each of the
    two context maps is reduced to ``C / 2`` channels by a 1x1 conv; the
    channel-wise average and maximum of the concatenated maps (2 spatial
    statistics) go through a 7x7 conv to two sigmoid selection maps, which
    weight the two kernels per position. A final 1x1 conv back to ``C``
    channels gives the attention that multiplies the module's input.

    ``form='unit'`` (default, the paper): LSKNet uses the module (its
    ``LSKblock``) inside its attention unit, ``x + proj_2(LSK(GELU(
    proj_1(x))))`` with 1x1 convs ``proj_1``/``proj_2``. ``form='bare'`` is
    the ablation ``LSK(x)`` (no 1x1s, no shortcut). Written here after
    `LSKNet <https://arxiv.org/abs/2303.09030>`_ (``LSKblock`` and
    ``Attention``).

    Parameters: ``26 C + 50 C`` (depthwise) ``+ 2 (C^2 / 2 + C / 2)``
    (reductions) ``+ 2 * 2 * 49 + 2`` (selection) ``+ C^2 / 2 + C`` (output),
    i.e. ``1.5 C^2 + 78 C + 198`` for even ``C`` (bare), plus
    ``2 (C^2 + C)`` for the unit's two 1x1 convs.

    Args:
        channels (int): Input (and output) channels, even.
        form (str): ``'unit'`` (the paper's attention unit) or ``'bare'``.
            Defaults to ``'unit'``.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self, channels, form='unit', init_cfg=None):
        super().__init__(init_cfg)
        check_form('LSKAttention', form)
        if channels % 2:
            raise ValueError('LSKAttention needs an even number of '
                             f'channels, got {channels}')
        half = channels // 2
        self.local = nn.Conv2d(
            channels, channels, 5, padding=2, groups=channels)
        self.dilated = nn.Conv2d(
            channels, channels, 7, padding=9, dilation=3, groups=channels)
        self.reduce_local = nn.Conv2d(channels, half, 1)
        self.reduce_dilated = nn.Conv2d(channels, half, 1)
        self.select = nn.Conv2d(2, 2, 7, padding=3)
        self.proj = nn.Conv2d(half, channels, 1)
        self._build_unit(channels, form)

    def _core(self, x):
        local = self.local(x)
        kernels = torch.stack([
            self.reduce_local(local),
            self.reduce_dilated(self.dilated(local))
        ],
                              dim=1)
        flat = kernels.flatten(1, 2)  # (N, C, H, W): both reduced maps
        stats = torch.cat(
            [flat.mean(1, keepdim=True),
             flat.amax(1, keepdim=True)], dim=1)
        select = self.select(stats).sigmoid().unsqueeze(2)  # (N, 2, 1, H, W)
        return x * self.proj((kernels * select).sum(1))
