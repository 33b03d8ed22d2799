"""ConvNeXt block as a SlimResNet block type."""
import torch.nn as nn
from mmengine.model import BaseModule
from mmpretrain.models.backbones.convnext import ConvNeXtBlock
from mmpretrain.models.utils import build_norm_layer

from cifar_plugins.registry import MODELS
from ..utils.attention import build_attention


class ConvNeXtDownsample(nn.Sequential):
    """ConvNeXt's downsampling layer: LayerNorm, then a ``stride x stride``
    convolution with stride ``stride`` (a 1x1 conv when only the width
    changes).

    Written here after `A ConvNet for the 2020s
    <https://arxiv.org/abs/2201.03545>`_ (mmpretrain builds it inline in its
    ``ConvNeXt`` backbone); also used in front of the HorNet and gMLP stages.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        stride (int): Down-sampling factor.
        norm_cfg (dict): Norm applied before the convolution.
            Defaults to ``dict(type='LN2d', eps=1e-6)``.
    """

    def __init__(self,
                 in_channels,
                 out_channels,
                 stride,
                 norm_cfg=dict(type='LN2d', eps=1e-6)):
        super().__init__(
            build_norm_layer(norm_cfg, in_channels),
            nn.Conv2d(
                in_channels, out_channels, kernel_size=stride, stride=stride))


# ConvNeXt's / HorNet's init (mmpretrain ConvNeXt's default ``init_cfg``)
TRUNC_NORMAL_INIT = [
    dict(type='TruncNormal', layer=['Conv2d', 'Linear'], std=.02, bias=0.),
    dict(type='Constant', layer=['LayerNorm'], val=1., bias=0.),
]


def needs_downsample(in_channels, out_channels, stride):
    return stride != 1 or in_channels != out_channels


@MODELS.register_module()
class ConvNeXtStageBlock(BaseModule):
    """ConvNeXt block (7x7 depthwise conv, LayerNorm, inverted MLP, layer
    scale, drop path) with the SlimResNet block interface.

    The block itself is mmpretrain's ``ConvNeXtBlock`` (with 1x1 convs for the
    pointwise layers, equivalent to its linear layers); a stride or width
    change is done, as in ConvNeXt, by a :class:`ConvNeXtDownsample` in front
    of it. The attention module is appended to the block's last pointwise
    conv, so it acts before layer scale and the residual add while
    mmpretrain's forward is reused unchanged.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        stride (int): Stride of the downsampling layer. Defaults to 1.
        attention (dict, optional): Attention config for
            ``build_attention``. Defaults to None.
        drop_path_rate (float): Stochastic depth rate. Defaults to 0.
        norm_cfg (dict, optional): The backbone's norm; unused, ConvNeXt
            prescribes LayerNorm (``block_norm_cfg``).
        act_cfg (dict, optional): The backbone's activation; unused, ConvNeXt
            prescribes GELU (``block_act_cfg``).
        kernel_size (int): Depthwise kernel size. Defaults to 7.
        mlp_ratio (float): Inverted-MLP expansion. Defaults to 4.
        layer_scale_init_value (float): Initial layer scale; 0 disables it.
            Defaults to 1e-6.
        block_norm_cfg (dict): Norm of the block and of the downsampling
            layer. Defaults to ``dict(type='LN2d', eps=1e-6)``.
        block_act_cfg (dict): MLP activation. Defaults to GELU.
        init_cfg (dict | list[dict], optional): Initialization config.
            Defaults to None: ConvNeXt's own (mmpretrain's ``ConvNeXt``
            default), truncated normal std 0.02 and zero bias for every
            ``Conv2d`` / ``Linear`` of the block (including the downsampling
            conv), LayerNorm weight 1 / bias 0; it is applied over a
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
                 kernel_size=7,
                 mlp_ratio=4.,
                 layer_scale_init_value=1e-6,
                 block_norm_cfg=dict(type='LN2d', eps=1e-6),
                 block_act_cfg=dict(type='GELU'),
                 init_cfg=None):
        super().__init__(TRUNC_NORMAL_INIT if init_cfg is None else init_cfg)
        self.downsample = (
            ConvNeXtDownsample(in_channels, out_channels, stride,
                               block_norm_cfg) if needs_downsample(
                                   in_channels, out_channels, stride) else
            nn.Identity())
        self.block = ConvNeXtBlock(
            out_channels,
            dw_conv_cfg=dict(
                kernel_size=kernel_size, padding=kernel_size // 2),
            norm_cfg=block_norm_cfg,
            act_cfg=block_act_cfg,
            mlp_ratio=mlp_ratio,
            linear_pw_conv=False,
            drop_path_rate=drop_path_rate,
            layer_scale_init_value=layer_scale_init_value)
        self.block.pointwise_conv2 = nn.Sequential(
            self.block.pointwise_conv2,
            build_attention(attention, out_channels))

    def forward(self, x):
        return self.block(self.downsample(x))
