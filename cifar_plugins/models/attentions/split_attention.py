"""Split attention (ResNeSt, Zhang et al., CVPRW 2022) applied to a feature map."""
import torch.nn as nn
from mmcv.cnn import build_activation_layer, build_norm_layer
from mmengine.model import BaseModule
from mmpretrain.models.backbones.resnest import RSoftmax

from ..utils.attention import register_attention


@register_attention('split', 'splat')
class SplitAttention(BaseModule):
    """ResNeSt split attention as a shape-preserving attention module.

    The ``C`` input channels are read as ``radix`` contiguous splits of
    ``C / radix`` channels (the layout of ResNeSt's radix conv). The splits
    are summed and globally pooled, passed through ``fc1`` (grouped 1x1
    conv to ``max(C // reduction_factor, min_inter_channels)``) + norm + act
    and ``fc2`` (grouped 1x1 conv back to ``C``); a softmax across the radix
    splits of each channel (sigmoid for ``radix=1``) gives the weights.
    ResNeSt sums the weighted splits (``C / radix`` outputs); here each split
    is re-weighted and kept, so the module maps ``C -> C`` and can follow any
    block's last conv. mmpretrain's ``RSoftmax`` is reused; the rest is
    written here after `ResNeSt <https://arxiv.org/abs/2004.08955>`_. The full
    ResNeSt block (radix conv + this fusion) is a separate block type.

    Args:
        channels (int): Input (and output) channels, divisible by
            ``radix * groups``.
        radix (int): Number of splits competing in the softmax. Defaults to 2.
        groups (int): Cardinality (groups of ``fc1``/``fc2``). Defaults to 1.
        reduction_factor (int): ``fc1`` width is ``channels // reduction_factor``.
            Defaults to 4.
        min_inter_channels (int): Lower bound of the ``fc1`` width (ResNeSt
            uses 32). Defaults to 32.
        norm_cfg (dict): Norm after ``fc1``. Defaults to ``dict(type='BN')``.
        act_cfg (dict): Activation after it. Defaults to ``dict(type='ReLU')``.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self, channels, radix=2, groups=1, reduction_factor=4,
                 min_inter_channels=32, norm_cfg=dict(type='BN'),
                 act_cfg=dict(type='ReLU'), init_cfg=None):
        super().__init__(init_cfg)
        if radix < 1 or groups < 1 or channels % (radix * groups):
            raise ValueError(f'SplitAttention: channels ({channels}) must be divisible by '
                             f'radix * groups ({radix} * {groups})')
        inter = max(channels // reduction_factor, min_inter_channels)
        inter = -(-inter // groups) * groups  # grouped convs need a multiple of groups
        self.radix = radix
        self.fc1 = nn.Conv2d(channels // radix, inter, 1, groups=groups)
        self.norm = build_norm_layer(norm_cfg, inter)[1]
        self.act = build_activation_layer(act_cfg)
        self.fc2 = nn.Conv2d(inter, channels, 1, groups=groups)
        self.rsoftmax = RSoftmax(radix, groups)

    def forward(self, x):
        n, c = x.shape[:2]
        gap = x.view(n, self.radix, c // self.radix, *x.shape[2:]).sum(1)
        gap = gap.mean((2, 3), keepdim=True)
        weights = self.fc2(self.act(self.norm(self.fc1(gap))))
        return x * self.rsoftmax(weights).view(n, c, 1, 1)
