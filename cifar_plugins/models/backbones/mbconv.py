"""CoAtNet's MBConv block (pre-norm inverted residual + SE) as a SlimResNet
block type."""
import math

import torch.nn as nn
from mmcv.cnn import build_activation_layer, build_norm_layer
from mmengine.model import BaseModule

from cifar_plugins.registry import MODELS
from ..utils.attention import build_attention
from .slim_blocks import make_drop_path


class _SqueezeExcite(nn.Module):
    """SE of the MBConv block: GAP, 1x1 conv ``C -> rd`` + act, 1x1 conv
    ``rd -> C``, sigmoid, multiply (``timm``'s ``SEModule`` layout).

    Args:
        channels (int): Channels re-weighted.
        squeeze_channels (int): Width of the squeeze.
        act_cfg (dict): Activation of the squeeze.
    """

    def __init__(self, channels, squeeze_channels, act_cfg):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, squeeze_channels, 1)
        self.act = build_activation_layer(act_cfg)
        self.fc2 = nn.Conv2d(squeeze_channels, channels, 1)

    def forward(self, x):
        weight = self.fc2(self.act(self.fc1(x.mean((2, 3), keepdim=True))))
        return x * weight.sigmoid()


@MODELS.register_module()
class MBConvBlock(BaseModule):
    """CoAtNet's MBConv block with the SlimResNet block interface.

    As the convolution block of `CoAtNet <https://arxiv.org/abs/2106.04803>`_
    (and ``timm``'s ``MbConvBlock`` with its CoAtNet defaults), pre-norm:

    .. code:: text

        x -> norm -> 1x1 conv to E = expand_ratio * out_channels -> norm + act
          -> kxk depthwise conv (stride) -> norm + act -> SE(E -> out/4, SiLU)
          -> 1x1 conv to out_channels (bias) -> attention -> drop path
          + shortcut(x)

    The shortcut is the identity, or CoAtNet's ``Proj(Pool(x))`` when the shape
    changes (2x2 average pool when strided, 1x1 conv with bias when the width
    changes). The stride sits on the depthwise conv (timm's
    ``stride_mode='dw'``). The attention module from ``build_attention``
    follows the last 1x1 conv, before the residual add. The block owns its
    initialisation (:meth:`init_weights`): EfficientNet's fan-out normal for
    every conv (``std = sqrt(2 / (k*k*out/groups))``, zero biases), as timm's
    MaxxVit. Written here; checked against timm's ``MbConvBlock`` in the tests.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        stride (int): Depthwise conv stride, 1 or 2. Defaults to 1.
        attention (dict, optional): Attention config for
            ``build_attention``. Defaults to None.
        drop_path_rate (float): Stochastic depth rate of the residual branch.
            Defaults to 0.
        norm_cfg (dict): Norm config (pre-norm and after the first two
            convs). Defaults to BN.
        act_cfg (dict): Activation after the first two convs (the CoAtNet
            configs set GELU). Defaults to ReLU.
        expand_ratio (float): Hidden width is ``out_channels * expand_ratio``
            (CoAtNet expands the *output* width). Defaults to 4.
        kernel_size (int): Depthwise kernel size. Defaults to 3.
        se_ratio (float): SE squeeze width as a share of ``out_channels``
            (``int(se_ratio * out_channels)``); 0 disables SE. Defaults to
            0.25.
        se_act_cfg (dict): Activation of the SE squeeze. Defaults to SiLU.
        init_cfg (dict, optional): Initialization config. Defaults to None:
            :meth:`init_weights`' EfficientNet init.
    """

    def __init__(self,
                 in_channels,
                 out_channels,
                 stride=1,
                 attention=None,
                 drop_path_rate=0.,
                 norm_cfg=dict(type='BN'),
                 act_cfg=dict(type='ReLU'),
                 expand_ratio=4,
                 kernel_size=3,
                 se_ratio=0.25,
                 se_act_cfg=dict(type='SiLU'),
                 init_cfg=None):
        super().__init__(init_cfg)
        if stride not in (1, 2):
            raise ValueError(
                f'MBConvBlock supports stride 1 or 2, got {stride}')
        mid_channels = int(round(out_channels * expand_ratio))
        self.pre_norm = build_norm_layer(norm_cfg, in_channels)[1]
        self.conv1 = nn.Conv2d(in_channels, mid_channels, 1, bias=False)
        self.norm1 = build_norm_layer(norm_cfg, mid_channels)[1]
        self.act1 = build_activation_layer(act_cfg)
        self.conv2 = nn.Conv2d(
            mid_channels,
            mid_channels,
            kernel_size,
            stride=stride,
            padding=kernel_size // 2,
            groups=mid_channels,
            bias=False)
        self.norm2 = build_norm_layer(norm_cfg, mid_channels)[1]
        self.act2 = build_activation_layer(act_cfg)
        self.se = (
            _SqueezeExcite(mid_channels, int(se_ratio * out_channels),
                           se_act_cfg) if se_ratio > 0 else nn.Identity())
        self.conv3 = nn.Conv2d(mid_channels, out_channels, 1)
        self.attention = build_attention(attention, out_channels)
        self.drop_path = make_drop_path(drop_path_rate)
        if stride == 1 and in_channels == out_channels:
            self.shortcut = nn.Identity()
        else:
            pool = nn.AvgPool2d(
                stride, stride,
                ceil_mode=True) if stride > 1 else nn.Identity()
            proj = (
                nn.Conv2d(in_channels, out_channels, 1)
                if in_channels != out_channels else nn.Identity())
            self.shortcut = nn.Sequential(pool, proj)
        self._init_convs()

    def _init_convs(self):
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                fan_out = module.kernel_size[0] * module.kernel_size[
                    1] * module.out_channels
                fan_out //= module.groups
                nn.init.normal_(module.weight, 0, math.sqrt(2.0 / fan_out))
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def init_weights(self):
        """EfficientNet fan-out init of the convs (over a backbone's init),
        then this block's own ``init_cfg`` if one is given."""
        self._init_convs()
        super().init_weights()

    def forward(self, x):
        out = self.act1(self.norm1(self.conv1(self.pre_norm(x))))
        out = self.se(self.act2(self.norm2(self.conv2(out))))
        out = self.attention(self.conv3(out))
        return self.shortcut(x) + self.drop_path(out)
