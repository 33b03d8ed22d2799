"""Ghost module and a ResNet basic block built from Ghost modules."""
import math

import torch
from mmcv.cnn import ConvModule, build_activation_layer
from mmengine.model import BaseModule

from cifar_plugins.registry import MODELS
from ..utils.attention import build_attention
from .slim_blocks import make_drop_path, make_shortcut


@MODELS.register_module()
class GhostModule(BaseModule):
    """Ghost module from `GhostNet: More Features from Cheap Operations
    <https://arxiv.org/abs/1911.11907>`_.

    A primary ``kernel_size`` conv makes ``m = ceil(out_channels / ratio)``
    intrinsic maps; a cheap depthwise ``dw_size`` conv turns each intrinsic
    map into ``ratio - 1`` ghost maps; both are concatenated (and cut to
    ``out_channels``). Against the plain conv it replaces, the weights shrink
    by about ``ratio`` (``c k^2 n / (c k^2 n / s + (s - 1) n d^2 / s)``).
    Written here from the paper (mmpretrain has no Ghost module); the convs
    are mmcv ``ConvModule`` s.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        kernel_size (int): Kernel of the primary conv. Defaults to 1.
        ratio (int): Ratio ``s`` of output to intrinsic maps, >= 2.
            Defaults to 2.
        dw_size (int): Kernel ``d`` of the cheap depthwise conv. Defaults to 3.
        stride (int): Stride of the primary conv. Defaults to 1.
        norm_cfg (dict): Norm after each conv. Defaults to BN.
        act_cfg (dict, optional): Activation after each conv; None for a
            linear module. Defaults to ReLU.
        init_cfg (dict, optional): Initialization config.
    """

    def __init__(self,
                 in_channels,
                 out_channels,
                 kernel_size=1,
                 ratio=2,
                 dw_size=3,
                 stride=1,
                 norm_cfg=dict(type='BN'),
                 act_cfg=dict(type='ReLU'),
                 init_cfg=None):
        super().__init__(init_cfg)
        if not isinstance(ratio, int) or ratio < 2:
            raise ValueError(
                f'Ghost ratio must be an integer >= 2, got {ratio}')
        self.out_channels = out_channels
        self.ratio = ratio
        init_channels = math.ceil(out_channels / ratio)
        self.primary_conv = ConvModule(
            in_channels,
            init_channels,
            kernel_size,
            stride=stride,
            padding=kernel_size // 2,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg)
        self.cheap_operation = self._build_cheap_operation(
            init_channels, init_channels * (ratio - 1), dw_size, norm_cfg,
            act_cfg)

    def _build_cheap_operation(self, channels, ghost_channels, dw_size,
                               norm_cfg, act_cfg):
        return ConvModule(
            channels,
            ghost_channels,
            dw_size,
            padding=dw_size // 2,
            groups=channels,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg)

    def _ghost_maps(self, intrinsic):
        return self.cheap_operation(intrinsic)

    def forward(self, x):
        intrinsic = self.primary_conv(x)
        out = torch.cat([intrinsic, self._ghost_maps(intrinsic)], dim=1)
        return out[:, :self.out_channels]


@MODELS.register_module()
class GhostBasicBlock(BaseModule):
    """ResNet basic block whose two 3x3 convs are Ghost modules, as the
    Ghost-ResNet of the GhostNet paper's CIFAR experiments.

    ``ghost1`` (stride, ReLU) -> ``ghost2`` (linear) -> attention ->
    residual add -> ReLU; the shortcut is a 1x1 conv + norm when the shape
    changes. Written here; the convs are mmcv ``ConvModule`` s.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        stride (int): Stride of the first Ghost module. Defaults to 1.
        attention (dict, optional): Attention config for
            ``build_attention``. Defaults to None.
        drop_path_rate (float): Stochastic depth rate. Defaults to 0.
        norm_cfg (dict): Norm config. Defaults to BN.
        act_cfg (dict): Activation config. Defaults to ReLU.
        ratio (int): Ghost ratio ``s``. Defaults to 2.
        dw_size (int): Kernel of the cheap depthwise convs. Defaults to 3.
        init_cfg (dict, optional): Initialization config.
    """
    ghost_module = GhostModule

    def __init__(self,
                 in_channels,
                 out_channels,
                 stride=1,
                 attention=None,
                 drop_path_rate=0.,
                 norm_cfg=dict(type='BN'),
                 act_cfg=dict(type='ReLU'),
                 ratio=2,
                 dw_size=3,
                 init_cfg=None):
        super().__init__(init_cfg)
        self.ghost1 = self.ghost_module(
            in_channels,
            out_channels,
            kernel_size=3,
            ratio=ratio,
            dw_size=dw_size,
            stride=stride,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg)
        self.ghost2 = self.ghost_module(
            out_channels,
            out_channels,
            kernel_size=3,
            ratio=ratio,
            dw_size=dw_size,
            norm_cfg=norm_cfg,
            act_cfg=None)
        self.attention = build_attention(attention, out_channels)
        self.shortcut = make_shortcut(in_channels, out_channels, stride,
                                      norm_cfg)
        self.drop_path = make_drop_path(drop_path_rate)
        self.act = build_activation_layer(act_cfg)

    def forward(self, x):
        out = self.attention(self.ghost2(self.ghost1(x)))
        return self.act(self.shortcut(x) + self.drop_path(out))
