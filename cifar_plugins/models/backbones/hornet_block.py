"""HorNet block (gnConv spatial mixer) as a SlimResNet block type."""
import torch.nn as nn
from mmengine.model import BaseModule
from mmpretrain.models.backbones.hornet import HorNetBlock

from cifar_plugins.registry import MODELS
from ..utils.attention import build_attention
from .slim_convnext import (TRUNC_NORMAL_INIT, ConvNeXtDownsample,
                            needs_downsample)


@MODELS.register_module()
class HorNetStageBlock(BaseModule):
    """HorNet block from `HorNet: Efficient High-Order Spatial Interactions
    with Recursive Gated Convolutions <https://arxiv.org/abs/2207.14284>`_
    with the SlimResNet block interface.

    The block is mmpretrain's ``HorNetBlock``: LayerNorm -> gnConv of order
    ``n`` (channel split ``[C/2^(n-1), ..., C/2, C]``) -> layer scale ->
    residual, then a LayerNorm + inverted MLP residual. A stride or width
    change is done by a LayerNorm + strided conv in front, as in HorNet
    (:class:`ConvNeXtDownsample`). The attention module is appended to the
    gnConv, the block's spatial mixer, before its layer scale and residual.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels; divisible by ``2**(order-1)``.
        stride (int): Stride of the downsampling layer. Defaults to 1.
        attention (dict, optional): Attention config for
            ``build_attention``. Defaults to None.
        drop_path_rate (float): Stochastic depth rate. Defaults to 0.
        norm_cfg (dict, optional): The backbone's norm; unused, HorNet
            prescribes LayerNorm.
        act_cfg (dict, optional): The backbone's activation; unused, HorNet
            prescribes GELU.
        order (int): Order ``n`` of the gnConv. Defaults to 3.
        kernel_size (int): Kernel of the gnConv depthwise conv. Defaults to 7.
        scale (float): Scale of the depthwise output (HorNet uses 1/3).
            Defaults to 1/3.
        use_layer_scale (bool): Layer scale in the block. Defaults to True.
        layer_scale_init_value (float): Initial layer scale of both
            residual branches; HorNet's 1e-6 (mmpretrain's ``LayerScale``
            default would be 1e-5). Defaults to 1e-6.
        init_cfg (dict | list[dict], optional): Initialization config.
            Defaults to None: HorNet's own, truncated normal std 0.02 and
            zero bias for every ``Conv2d`` / ``Linear`` of the block (HorNet's
            ``_init_weights``), LayerNorm weight 1 / bias 0; applied over a
            backbone's init when ``init_weights`` runs.
    """

    def __init__(self,
                 in_channels,
                 out_channels,
                 stride=1,
                 attention=None,
                 drop_path_rate=0.,
                 norm_cfg=None,
                 act_cfg=None,
                 order=3,
                 kernel_size=7,
                 scale=1 / 3,
                 use_layer_scale=True,
                 layer_scale_init_value=1e-6,
                 init_cfg=None):
        super().__init__(TRUNC_NORMAL_INIT if init_cfg is None else init_cfg)
        if order < 1 or out_channels % 2**(order - 1):
            raise ValueError(
                f'gnConv of order {order} splits the channels into '
                f'C/2^(n-1)..C: out_channels={out_channels} must be '
                f'divisible by {2**(order - 1)}')
        self.downsample = (
            ConvNeXtDownsample(
                in_channels, out_channels, stride) if needs_downsample(
                    in_channels, out_channels, stride) else nn.Identity())
        self.block = HorNetBlock(
            out_channels,
            order=order,
            dw_cfg=dict(type='DW', kernel_size=kernel_size),
            scale=scale,
            drop_path_rate=drop_path_rate,
            use_layer_scale=use_layer_scale)
        if use_layer_scale:
            for gamma in (self.block.gamma1, self.block.gamma2):
                nn.init.constant_(gamma.weight, layer_scale_init_value)
        self.block.gnconv = nn.Sequential(
            self.block.gnconv, build_attention(attention, out_channels))

    @property
    def gnconv(self):
        return self.block.gnconv[0]

    def forward(self, x):
        return self.block(self.downsample(x))
