"""MSCA: multi-scale convolutional attention (SegNeXt, Guo et al., NeurIPS 2022)."""
import torch.nn as nn
from mmengine.model import BaseModule

from ..utils.attention import register_attention


@register_attention('msca')
class MSCA(BaseModule):
    """Multi-Scale Convolutional Attention.

    A 5x5 depthwise conv aggregates local context; each branch adds a
    decomposed large depthwise kernel (a ``1 x k`` then a ``k x 1`` strip conv)
    on top of it; the sum of the local map and every branch is mixed across
    channels by a 1x1 conv and used directly as the attention weights that
    multiply the input. Written here after `SegNeXt
    <https://arxiv.org/abs/2209.08575>`_ (its MSCAN attention module; mmseg's
    copy is not a dependency of this package).

    Parameters: ``26 C`` (5x5 DW) + ``2 C (k + 1)`` per branch ``k`` +
    ``C^2 + C`` (1x1), i.e. ``C^2 + 111 C`` for the default branches.

    Args:
        channels (int): Input (and output) channels.
        branches (Sequence[int]): Odd strip lengths, one branch each.
            Defaults to ``(7, 11, 21)`` (the paper); a subset is the branch
            ablation, ``()`` keeps only the 5x5 conv.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self, channels, branches=(7, 11, 21), init_cfg=None):
        super().__init__(init_cfg)
        branches = tuple(branches)
        if any(not (isinstance(k, int) and k > 0 and k % 2) for k in branches):
            raise ValueError(f'MSCA branches must be positive odd ints, got {branches}')
        self.branches_k = branches
        self.local = nn.Conv2d(channels, channels, 5, padding=2, groups=channels)
        self.branches = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(channels, channels, (1, k), padding=(0, k // 2), groups=channels),
                nn.Conv2d(channels, channels, (k, 1), padding=(k // 2, 0), groups=channels))
            for k in branches)
        self.channel_mix = nn.Conv2d(channels, channels, 1)

    def forward(self, x):
        local = self.local(x)
        attn = local
        for branch in self.branches:
            attn = attn + branch(local)
        return x * self.channel_mix(attn)
