"""ECA: efficient channel attention (Wang et al., CVPR 2020)."""
import math

import torch.nn as nn
from mmengine.model import BaseModule

from ..utils.attention import register_attention


def eca_kernel_size(channels, gamma=2, b=1):
    """ECA's adaptive kernel size ``k = |log2(C) / gamma + b / gamma|_odd``.

    ``|t|_odd`` is taken as in the paper's code: truncate ``t``, then move an
    even result up to the next odd number (C=64 -> 3, C=256 -> 5).
    """
    t = int(abs((math.log2(channels) + b) / gamma))
    return t if t % 2 else t + 1


@register_attention('eca')
class ECA(BaseModule):
    """Efficient Channel Attention.

    Global average pooling, then a 1-D convolution of size ``k`` across the
    channel axis (local cross-channel interaction, no dimensionality
    reduction) and a sigmoid give one weight per channel; the module adds
    exactly ``k`` parameters. Written here after `ECA-Net
    <https://arxiv.org/abs/1910.03151>`_.

    Args:
        channels (int): Input (and output) channels.
        kernel_size (int, optional): Fixed odd ``k``. Defaults to None: the
            adaptive ``k`` of :func:`eca_kernel_size`.
        gamma (float): ``gamma`` of the adaptive formula. Defaults to 2.
        b (float): ``b`` of the adaptive formula. Defaults to 1.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self,
                 channels,
                 kernel_size=None,
                 gamma=2,
                 b=1,
                 init_cfg=None):
        super().__init__(init_cfg)
        if kernel_size is None:
            kernel_size = eca_kernel_size(channels, gamma, b)
        if not (isinstance(kernel_size, int) and kernel_size > 0
                and kernel_size % 2):
            raise ValueError('ECA kernel_size must be a positive odd '
                             f'int, got {kernel_size!r}')
        self.kernel_size = kernel_size
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.conv = nn.Conv1d(
            1, 1, kernel_size, padding=kernel_size // 2, bias=False)

    def forward(self, x):
        n, c = x.shape[:2]
        weight = self.conv(self.pool(x).view(n, 1, c)).sigmoid()
        return x * weight.view(n, c, 1, 1)
