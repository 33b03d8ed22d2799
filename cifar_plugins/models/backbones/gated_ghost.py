"""Gated Ghost module and block: Ghost maps made by gating the intrinsic maps
with a large-kernel depthwise filter of themselves instead of a linear cheap
operation."""
import torch
import torch.nn as nn
from mmcv.cnn import build_activation_layer, build_norm_layer

from cifar_plugins.registry import MODELS
from .ghost import GhostBasicBlock, GhostModule


@MODELS.register_module()
class GatedGhostModule(GhostModule):
    """Ghost module whose ghost maps are gated by their intrinsic maps.

    Motivation: in a Ghost module the ``ratio - 1`` ghost maps are a linear,
    3x3-local function of the intrinsic maps, a likely source of the accuracy
    Ghost-ResNets give up against the convs they replace. Gating a feature by a
    depthwise-filtered version of itself (as HorNet's gnConv and GLU-style
    units do) makes the ghost maps input-adaptive at no parameter cost. Here
    each ghost map is ``intrinsic * sigmoid(norm(dwconv(intrinsic)))`` (then
    the activation), with a large depthwise kernel so that the gate sees
    context beyond the 3x3 primary conv. The parameter count equals that of a
    :class:`GhostModule` with the same ``dw_size``: the gate is a product.

    Why a sigmoid: the first version, ``norm(intrinsic * dwconv(intrinsic))``,
    is second order in the input, so an input k times larger than the
    running BN statistics gives ghost maps k^2 larger, and two modules per
    block compound that over the depth; in eval mode (fixed statistics) the
    CIFAR budget runs overflowed to NaN on real test images. With the sigmoid
    a ghost map is never larger than the intrinsic map it gates.

    Written here (the idea of this package); the primary conv is reused from
    :class:`GhostModule`.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        kernel_size (int): Kernel of the primary conv. Defaults to 1.
        ratio (int): Ratio ``s`` of output to intrinsic maps, >= 2.
            Defaults to 2.
        dw_size (int): Kernel of the depthwise conv of the gate. Defaults to 7.
        stride (int): Stride of the primary conv. Defaults to 1.
        norm_cfg (dict): Norm config. Defaults to BN.
        act_cfg (dict, optional): Activation; None for a linear module.
            Defaults to ReLU.
        init_cfg (dict, optional): Initialization config.
    """

    def __init__(self,
                 in_channels,
                 out_channels,
                 kernel_size=1,
                 ratio=2,
                 dw_size=7,
                 stride=1,
                 norm_cfg=dict(type='BN'),
                 act_cfg=dict(type='ReLU'),
                 init_cfg=None):
        super().__init__(in_channels, out_channels, kernel_size, ratio,
                         dw_size, stride, norm_cfg, act_cfg, init_cfg)

    def _build_cheap_operation(self, channels, ghost_channels, dw_size,
                               norm_cfg, act_cfg):
        layers = dict(
            dwconv=nn.Conv2d(
                channels,
                ghost_channels,
                dw_size,
                padding=dw_size // 2,
                groups=channels,
                bias=False),
            norm=build_norm_layer(norm_cfg, ghost_channels)[1],
            act=build_activation_layer(act_cfg) if act_cfg else nn.Identity())
        return nn.ModuleDict(layers)

    def _ghost_maps(self, intrinsic):
        op = self.cheap_operation
        # Output channel j of the grouped conv is filtered from intrinsic map
        # j // (ratio - 1): repeat each intrinsic map to match it.
        source = intrinsic.repeat_interleave(self.ratio - 1, dim=1)
        gate = torch.sigmoid(op['norm'](op['dwconv'](intrinsic)))
        return op['act'](source * gate)


@MODELS.register_module()
class GatedGhostBlock(GhostBasicBlock):
    """:class:`GhostBasicBlock` built from :class:`GatedGhostModule` s.

    With ``attention=dict(type='ECA')`` from the backbone this is the
    package's proposed block (Ghost + gated large-kernel mixer + ECA): the
    Ghost modules halve the weights, the gate restores input-adaptive
    spatial gating and ECA re-weights channels for ``k`` parameters. See
    ``configs/cifar100/README.md`` for the factorial ablation.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        stride (int): Stride of the first module. Defaults to 1.
        attention (dict, optional): Attention config for
            ``build_attention``. Defaults to None.
        drop_path_rate (float): Stochastic depth rate. Defaults to 0.
        norm_cfg (dict): Norm config. Defaults to BN.
        act_cfg (dict): Activation config. Defaults to ReLU.
        ratio (int): Ghost ratio ``s``. Defaults to 2.
        dw_size (int): Kernel of the depthwise gate convs. Defaults to 7.
        init_cfg (dict, optional): Initialization config.
    """
    ghost_module = GatedGhostModule

    def __init__(self,
                 in_channels,
                 out_channels,
                 stride=1,
                 attention=None,
                 drop_path_rate=0.,
                 norm_cfg=dict(type='BN'),
                 act_cfg=dict(type='ReLU'),
                 ratio=2,
                 dw_size=7,
                 init_cfg=None):
        super().__init__(in_channels, out_channels, stride, attention,
                         drop_path_rate, norm_cfg, act_cfg, ratio, dw_size,
                         init_cfg)
