"""MSCA: multi-scale convolutional attention (SegNeXt, Guo et al., NeurIPS
2022)."""
import torch.nn as nn
from mmengine.model import BaseModule

from ..utils.attention import register_attention
from ._unit import AttentionUnitMixin, check_form


@register_attention('msca')
class MSCA(AttentionUnitMixin, BaseModule):
    """Multi-Scale Convolutional Attention in SegNeXt's attention unit.

    The MSCA module: a 5x5 depthwise conv aggregates local context; each
    branch adds a decomposed large depthwise kernel (a ``1 x k`` then a
    ``k x 1`` strip conv) on top of it; the sum of the local map and every
    branch is mixed across channels by a 1x1 conv and used as the attention
    weights that multiply the module's input: ``MSCA(z) = z * Mix(DW5(z) +
    sum_k Strip_k(DW5(z)))``.

    ``form='unit'`` (default, the paper): SegNeXt uses the module inside its
    attention unit, ``x + proj_2(MSCA(GELU(proj_1(x))))`` with 1x1 convs
    ``proj_1``/``proj_2``. ``form='bare'`` is the ablation ``MSCA(x)`` (the
    module alone re-weighting the block output, no 1x1s, no shortcut).
    Written here after `SegNeXt <https://arxiv.org/abs/2209.08575>`_ (its
    MSCAN ``MSCAAttention`` / ``MSCASpatialAttention``; mmseg is not a
    dependency of this package).

    Parameters: ``26 C`` (5x5 DW) + ``2 C (k + 1)`` per branch ``k`` +
    ``C^2 + C`` (1x1 mix), i.e. ``C^2 + 111 C`` for the default branches
    (bare), plus ``2 (C^2 + C)`` for the unit's two 1x1 convs.

    Args:
        channels (int): Input (and output) channels.
        branches (Sequence[int]): Odd strip lengths, one branch each.
            Defaults to ``(7, 11, 21)`` (the paper); a subset is the branch
            ablation, ``()`` keeps only the 5x5 conv.
        form (str): ``'unit'`` (the paper's attention unit) or ``'bare'``.
            Defaults to ``'unit'``.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self,
                 channels,
                 branches=(7, 11, 21),
                 form='unit',
                 init_cfg=None):
        super().__init__(init_cfg)
        check_form('MSCA', form)
        branches = tuple(branches)
        if any(not (isinstance(k, int) and k > 0 and k % 2) for k in branches):
            raise ValueError(
                f'MSCA branches must be positive odd ints, got {branches}')
        self.branches_k = branches
        self.local = nn.Conv2d(
            channels, channels, 5, padding=2, groups=channels)
        self.branches = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(
                    channels,
                    channels, (1, k),
                    padding=(0, k // 2),
                    groups=channels),
                nn.Conv2d(
                    channels,
                    channels, (k, 1),
                    padding=(k // 2, 0),
                    groups=channels)) for k in branches)
        self.channel_mix = nn.Conv2d(channels, channels, 1)
        self._build_unit(channels, form)

    def _core(self, x):
        local = self.local(x)
        attn = local
        for branch in self.branches:
            attn = attn + branch(local)
        return x * self.channel_mix(attn)
