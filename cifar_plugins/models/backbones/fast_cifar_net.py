"""A small, fast CIFAR network for short CPU budgets."""
import torch.nn as nn
from mmengine.model import BaseModule

from cifar_plugins.registry import MODELS


class ConvGroup(nn.Sequential):
    """conv3x3 -> max-pool 2 -> BN -> GELU -> conv3x3 -> BN -> GELU."""

    def __init__(self, in_channels, out_channels, bn_momentum):
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
            nn.MaxPool2d(2),
            nn.BatchNorm2d(out_channels, momentum=bn_momentum),
            nn.GELU(),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels, momentum=bn_momentum),
            nn.GELU())


@MODELS.register_module()
class FastCIFARNet(BaseModule):
    """VGG-style network tuned for speed, after Keller Jordan's airbench.

    A stride-1 3x3 stem and three conv groups, each halving the resolution
    with max-pooling *before* its BN (cheaper than pooling after), so most
    work happens at 16x16 and below. With widths (32, 64, 128) it does
    24 MMACs per image (0.30M parameters), 1/23 of a CIFAR ResNet18's 557
    MMACs; it is the quickstart network, which reaches 80%+ test top-1
    within minutes on two CPU cores. airbench's data-dependent whitening stem, lookahead and
    test-time augmentation are left out to keep it a plain backbone.

    Args:
        widths (Sequence[int]): Channels of the three conv groups.
        stem_channels (int): Channels of the stem conv.
        bn_momentum (float): BatchNorm momentum; higher than PyTorch's 0.1
            so running statistics keep up in short schedules.
        init_cfg (dict | list, optional): mmengine initialisation config.
    """

    def __init__(self, widths=(32, 64, 128), stem_channels=24, bn_momentum=0.2,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.stem = nn.Sequential(
            nn.Conv2d(3, stem_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(stem_channels, momentum=bn_momentum),
            nn.GELU())
        chans = (stem_channels, *widths)
        self.groups = nn.Sequential(*(ConvGroup(chans[i], chans[i + 1], bn_momentum)
                                      for i in range(len(widths))))
        self.out_channels = widths[-1]

    def forward(self, x):
        return (self.groups(self.stem(x)),)
