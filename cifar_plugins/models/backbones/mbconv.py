"""MBConv block (inverted residual + SE) as a SlimResNet block type."""
import torch.nn as nn
from mmengine.model import BaseModule
from mmpretrain.models.utils import InvertedResidual

from cifar_plugins.registry import MODELS
from ..utils.attention import build_attention


@MODELS.register_module()
class MBConvBlock(BaseModule):
    """MBConv block (1x1 expand -> depthwise -> SE -> 1x1 project), the
    convolution stage block of `CoAtNet <https://arxiv.org/abs/2106.04803>`_
    and EfficientNet, with the SlimResNet block interface.

    The block is mmpretrain's ``InvertedResidual`` with its ``SELayer``
    (post-norm conv-norm-act layers, as in MobileNetV2/EfficientNet, where
    CoAtNet uses a pre-norm). The attention module is appended to its last
    1x1 conv. mmpretrain's block has no shortcut when the shape changes; as in
    CoAtNet, a ``Proj(Pool(x))`` shortcut (2x2 average pool when strided,
    1x1 conv) is added here.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        stride (int): Depthwise conv stride, 1 or 2. Defaults to 1.
        attention (dict, optional): Attention config for
            ``build_attention``. Defaults to None.
        drop_path_rate (float): Stochastic depth rate (identity blocks
            only). Defaults to 0.
        norm_cfg (dict): Norm config. Defaults to BN.
        act_cfg (dict): Activation config. Defaults to ReLU.
        expand_ratio (float): Hidden width is ``in_channels * expand_ratio``.
            Defaults to 4.
        kernel_size (int): Depthwise kernel size. Defaults to 3.
        se_ratio (float): SE squeeze width as a share of ``in_channels``
            (at least 8); 0 disables SE. Defaults to 0.25.
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
                 expand_ratio=4,
                 kernel_size=3,
                 se_ratio=0.25,
                 init_cfg=None):
        super().__init__(init_cfg)
        if stride not in (1, 2):
            raise ValueError(f'MBConvBlock supports stride 1 or 2, got {stride}')
        mid_channels = int(round(in_channels * expand_ratio))
        se_cfg = None
        if se_ratio > 0:
            se_cfg = dict(channels=mid_channels,
                          squeeze_channels=max(8, int(in_channels * se_ratio)),
                          act_cfg=(act_cfg, dict(type='Sigmoid')))
        self.mbconv = InvertedResidual(
            in_channels, out_channels, mid_channels, kernel_size=kernel_size, stride=stride,
            se_cfg=se_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg, drop_path_rate=drop_path_rate)
        self.mbconv.linear_conv = nn.Sequential(
            self.mbconv.linear_conv, build_attention(attention, out_channels))
        if self.mbconv.with_res_shortcut:
            self.shortcut = None  # InvertedResidual adds the identity itself
        else:
            pool = nn.AvgPool2d(stride, stride, ceil_mode=True) if stride > 1 else nn.Identity()
            self.shortcut = nn.Sequential(pool, nn.Conv2d(in_channels, out_channels, 1))

    def forward(self, x):
        out = self.mbconv(x)
        if self.shortcut is not None:
            out = out + self.shortcut(x)
        return out
