"""ResNeSt basic block: a split-attention 3x3 conv in a ResNet basic block."""
import torch.nn as nn
from mmcv.cnn import ConvModule, build_activation_layer
from mmengine.model import BaseModule
from mmpretrain.models.backbones.resnest import SplitAttentionConv2d

from cifar_plugins.registry import MODELS
from ..utils.attention import build_attention
from .slim_blocks import make_drop_path


@MODELS.register_module()
class ResNeStBlock(BaseModule):
    """Basic block of `ResNeSt: Split-Attention Networks
    <https://arxiv.org/abs/2004.08955>`_ with the SlimResNet block interface.

    The first 3x3 conv of a ResNet basic block is mmpretrain's
    ``SplitAttentionConv2d`` (``radix`` splits inside each of ``groups``
    cardinal groups, weighted by an r-softmax over the splits); the second is
    a plain 3x3 conv + norm, followed by the attention module and the
    residual add. As in ResNeSt, a stride is applied by a 3x3 average pool
    after the split-attention conv (``avg_down_stride``) and the projection
    shortcut average-pools before its 1x1 conv (ResNet-D). Written here
    around mmpretrain's ``SplitAttentionConv2d`` (its ResNeSt ``Bottleneck``
    has the bottleneck layout, not the basic one).

    Args:
        in_channels (int): Input channels; divisible by ``radix * groups``.
        out_channels (int): Output channels; divisible by ``groups``.
        stride (int): Block stride. Defaults to 1.
        attention (dict, optional): Attention config for
            ``build_attention``. Defaults to None.
        drop_path_rate (float): Stochastic depth rate. Defaults to 0.
        norm_cfg (dict): Norm config. Defaults to BN.
        act_cfg (dict): Activation config. Defaults to ReLU.
        radix (int): Splits per cardinal group; 1 gives a sigmoid (SE-like)
            gate. Defaults to 2.
        groups (int): Cardinality. Defaults to 1.
        reduction_factor (int): Reduction of the attention MLP (its width is
            ``max(in_channels * radix // reduction_factor, 32)``).
            Defaults to 4.
        avg_down_stride (bool): Stride by average pooling after the
            split-attention conv instead of in it. Defaults to True.
        init_cfg (dict, optional): Initialization config.
    """

    def __init__(self,
                 in_channels,
                 out_channels,
                 stride=1,
                 attention=None,
                 drop_path_rate=0.,
                 norm_cfg=dict(type='BN'),
                 act_cfg=dict(type='ReLU'),
                 radix=2,
                 groups=1,
                 reduction_factor=4,
                 avg_down_stride=True,
                 init_cfg=None):
        super().__init__(init_cfg)
        inter_channels = max(in_channels * radix // reduction_factor, 32)
        if (in_channels % (radix * groups) or out_channels % groups
                or inter_channels % groups):
            raise ValueError(
                f'split attention with radix={radix}, groups={groups} needs '
                f'in_channels ({in_channels}) divisible by radix*groups and '
                f'out_channels ({out_channels}) and the attention width '
                f'({inter_channels}) divisible by groups')
        pool_stride = avg_down_stride and stride > 1
        self.split_attention = SplitAttentionConv2d(
            in_channels,
            out_channels,
            3,
            stride=1 if pool_stride else stride,
            padding=1,
            groups=groups,
            radix=radix,
            reduction_factor=reduction_factor,
            norm_cfg=norm_cfg)
        self.avd = nn.AvgPool2d(
            3, stride, padding=1) if pool_stride else nn.Identity()
        self.conv2 = ConvModule(
            out_channels,
            out_channels,
            3,
            padding=1,
            norm_cfg=norm_cfg,
            act_cfg=None)
        self.attention = build_attention(attention, out_channels)
        if stride != 1 or in_channels != out_channels:
            pool = (
                nn.AvgPool2d(
                    stride, stride, ceil_mode=True, count_include_pad=False)
                if stride > 1 else nn.Identity())
            self.shortcut = nn.Sequential(
                pool,
                ConvModule(
                    in_channels,
                    out_channels,
                    1,
                    norm_cfg=norm_cfg,
                    act_cfg=None))
        else:
            self.shortcut = nn.Identity()
        self.drop_path = make_drop_path(drop_path_rate)
        self.act = build_activation_layer(act_cfg)

    def forward(self, x):
        out = self.avd(self.split_attention(x))
        out = self.attention(self.conv2(out))
        return self.act(self.shortcut(x) + self.drop_path(out))
