"""Reference blocks of the SlimResNet block interface."""
import torch.nn as nn
from mmcv.cnn import ConvModule, build_activation_layer
from mmcv.cnn.bricks import DropPath
from mmengine.model import BaseModule

from cifar_plugins.registry import MODELS
from ..utils.attention import build_attention


def make_shortcut(in_channels, out_channels, stride, norm_cfg):
    """Identity, or a 1x1 conv + norm projection when the shape changes."""
    if stride == 1 and in_channels == out_channels:
        return nn.Identity()
    return ConvModule(
        in_channels,
        out_channels,
        1,
        stride=stride,
        norm_cfg=norm_cfg,
        act_cfg=None)


def make_drop_path(drop_path_rate):
    return DropPath(drop_path_rate) if drop_path_rate > 0 else nn.Identity()


@MODELS.register_module()
class SlimBasicBlock(BaseModule):
    """ResNet basic block (two 3x3 convs) with the SlimResNet block interface.

    ``conv3x3(stride) + norm + act -> conv3x3 + norm -> attention -> drop
    path``, added to the shortcut (a 1x1 conv + norm projection when the stride
    or width changes), then the activation. The attention module comes from
    :func:`build_attention` and sits after the last conv + norm, before the
    residual add; stochastic depth is mmcv's ``DropPath``. Written here after
    `Deep Residual Learning <https://arxiv.org/abs/1512.03385>`_ (mmpretrain's
    ``BasicBlock`` has no attention or drop-path hook).

    Every SlimResNet block takes these keyword arguments (plus its own extra
    ones from the ``block`` dict):

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        stride (int): Stride of the first conv and of the shortcut. Defaults to
            1.
        attention (dict | str, optional): Attention config for
            :func:`build_attention`. Defaults to None.
        drop_path_rate (float): Stochastic depth rate of the residual branch.
            Defaults to 0.
        norm_cfg (dict): Norm config. Defaults to ``dict(type='BN')``.
        act_cfg (dict): Activation config. Defaults to ``dict(type='ReLU')``.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self,
                 in_channels,
                 out_channels,
                 stride=1,
                 attention=None,
                 drop_path_rate=0.,
                 norm_cfg=dict(type='BN'),
                 act_cfg=dict(type='ReLU'),
                 init_cfg=None):
        super().__init__(init_cfg)
        self.conv1 = ConvModule(
            in_channels,
            out_channels,
            3,
            stride=stride,
            padding=1,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg)
        self.conv2 = ConvModule(
            out_channels,
            out_channels,
            3,
            padding=1,
            norm_cfg=norm_cfg,
            act_cfg=None)
        self.attention = build_attention(attention, out_channels)
        self.drop_path = make_drop_path(drop_path_rate)
        self.shortcut = make_shortcut(in_channels, out_channels, stride,
                                      norm_cfg)
        self.act = build_activation_layer(act_cfg)

    def forward(self, x):
        out = self.attention(self.conv2(self.conv1(x)))
        return self.act(self.shortcut(x) + self.drop_path(out))


@MODELS.register_module()
class SlimBottleneck(BaseModule):
    """ResNet bottleneck block with the SlimResNet block interface.

    ``1x1 + norm + act -> 3x3(stride) + norm + act -> 1x1 + norm -> attention
    -> drop path``, added to the shortcut, then the activation. The middle
    width is ``out_channels // expansion`` (the stride sits on the 3x3 conv,
    mmpretrain's "pytorch" style). Written here after `Deep Residual Learning
    <https://arxiv.org/abs/1512.03385>`_; arguments as
    :class:`SlimBasicBlock`, plus:

    Args:
        expansion (int): Ratio of ``out_channels`` to the middle width.
            Defaults to 4.
    """

    def __init__(self,
                 in_channels,
                 out_channels,
                 stride=1,
                 attention=None,
                 drop_path_rate=0.,
                 norm_cfg=dict(type='BN'),
                 act_cfg=dict(type='ReLU'),
                 expansion=4,
                 init_cfg=None):
        super().__init__(init_cfg)
        if out_channels % expansion:
            raise ValueError(
                f'SlimBottleneck: out_channels ({out_channels}) must be '
                f'divisible by expansion ({expansion})')
        mid = out_channels // expansion
        self.conv1 = ConvModule(
            in_channels, mid, 1, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv2 = ConvModule(
            mid,
            mid,
            3,
            stride=stride,
            padding=1,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg)
        self.conv3 = ConvModule(
            mid, out_channels, 1, norm_cfg=norm_cfg, act_cfg=None)
        self.attention = build_attention(attention, out_channels)
        self.drop_path = make_drop_path(drop_path_rate)
        self.shortcut = make_shortcut(in_channels, out_channels, stride,
                                      norm_cfg)
        self.act = build_activation_layer(act_cfg)

    def forward(self, x):
        out = self.attention(self.conv3(self.conv2(self.conv1(x))))
        return self.act(self.shortcut(x) + self.drop_path(out))
