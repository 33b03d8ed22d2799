"""Cross-stage-partial stage wrapping any SlimResNet block type."""
import copy

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule, Sequential

from cifar_plugins.registry import MODELS


@MODELS.register_module()
class CSPSlimStage(BaseModule):
    """Cross Stage Partial stage from `CSPNet: A New Backbone that can Enhance
    Learning Capability of CNN <https://arxiv.org/abs/1911.11929>`_.

    .. code:: text

        x -> [3x3 conv, stride] -> 1x1 expand conv
          -> split: (1 - ratio) C | ratio C
                 |            blocks
                 |         1x1 transition
                 +---- concat ----+
                   1x1 transition -> out

    As CSPNet's stages (and mmpretrain's / timm's ``CSPStage``), a 1x1
    conv + norm + act (the "expand" conv, here ``C -> C``) runs before the
    split, so both parts are a learned mix of the stage input; in the first
    stage (no downsampling conv) the bypass would otherwise be the raw stem
    output. ``expand_conv=False`` is the ablation without it (the form used
    before: one 1x1 conv, ``C^2 + 2C`` parameters, fewer per stage). The blocks
    (any SlimResNet block type, e.g. ``SlimBasicBlock``) run on
    ``round(split_ratio * C)`` channels at stride 1, so their cost shrinks by
    about ``split_ratio**2``; the other part bypasses them and joins again in
    the final transition ("CSP (fusion last + partial transition)" in the
    paper, whose partial ratio ``gamma`` is ``split_ratio``).

    Parameters besides the blocks: the 3x3 downsampling conv ``9 C_in C +
    2C`` (when the shape changes), the expand conv ``C^2 + 2C``, the partial
    transition ``P^2 + 2P`` and the fusion transition ``C^2 + 2C``
    (``P = round(split_ratio * C)``, BN counted as ``2`` per channel).

    Written here: mmpretrain's ``CSPStage`` always splits an expand conv in
    halves and builds its blocks with its own signature (``expansion``,
    ``conv_cfg``, no attention, no stride); the convs are mmcv
    ``ConvModule`` s.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        num_blocks (int): Number of wrapped blocks.
        stride (int): Stride of the downsampling conv. Defaults to 1.
        attention (dict, optional): Passed to every wrapped block.
        drop_path_rates (Sequence[float], optional): One rate per block.
            Defaults to zeros.
        norm_cfg (dict): Norm config. Defaults to BN.
        act_cfg (dict): Activation config. Defaults to ReLU.
        block (dict): Config of the wrapped block type (its extra keys are
            passed to it). Defaults to ``dict(type='SlimBasicBlock')``.
        split_ratio (float): Share of the channels that go through the
            blocks, in (0, 1). Defaults to 0.5.
        expand_conv (bool): The 1x1 conv before the split (CSPNet). False is
            the ablation without it. Defaults to True.
        init_cfg (dict, optional): Initialization config.
    """
    is_stage = True

    def __init__(self,
                 in_channels,
                 out_channels,
                 num_blocks,
                 stride=1,
                 attention=None,
                 drop_path_rates=None,
                 norm_cfg=dict(type='BN'),
                 act_cfg=dict(type='ReLU'),
                 block=dict(type='SlimBasicBlock'),
                 split_ratio=0.5,
                 expand_conv=True,
                 init_cfg=None):
        super().__init__(init_cfg)
        drop_path_rates = list(drop_path_rates or [0.] * num_blocks)
        if len(drop_path_rates) != num_blocks:
            raise ValueError(
                f'CSPSlimStage got {len(drop_path_rates)} drop_path_rates '
                f'for {num_blocks} blocks')
        part_channels = round(split_ratio * out_channels)
        if not 0 < part_channels < out_channels:
            raise ValueError(
                f'split_ratio={split_ratio} of {out_channels} channels leaves '
                'an empty part; use a ratio in (0, 1)')
        block = copy.deepcopy(dict(block))
        block_type = block.pop('type')
        block_cls = MODELS.get(block_type)
        if block_cls is None:
            raise KeyError(
                f'CSPSlimStage: block type {block_type!r} is not registered')
        if getattr(block_cls, 'is_stage', False):
            raise ValueError(
                f'CSPSlimStage wraps block types; {block_cls.__name__} builds '
                'a whole stage')
        self.split = (out_channels - part_channels, part_channels)

        if stride != 1 or in_channels != out_channels:
            self.downsample = ConvModule(
                in_channels,
                out_channels,
                3,
                stride=stride,
                padding=1,
                norm_cfg=norm_cfg,
                act_cfg=act_cfg)
        else:
            self.downsample = nn.Identity()
        self.expand = (
            ConvModule(
                out_channels,
                out_channels,
                1,
                norm_cfg=norm_cfg,
                act_cfg=act_cfg) if expand_conv else nn.Identity())
        self.blocks = Sequential(*[
            block_cls(
                in_channels=part_channels,
                out_channels=part_channels,
                stride=1,
                attention=attention,
                drop_path_rate=rate,
                norm_cfg=norm_cfg,
                act_cfg=act_cfg,
                **block) for rate in drop_path_rates
        ])
        self.partial_transition = ConvModule(
            part_channels,
            part_channels,
            1,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg)
        self.fuse_transition = ConvModule(
            out_channels, out_channels, 1, norm_cfg=norm_cfg, act_cfg=act_cfg)

    def forward(self, x):
        bypass, part = self.expand(self.downsample(x)).split(self.split, dim=1)
        part = self.partial_transition(self.blocks(part))
        return self.fuse_transition(torch.cat([bypass, part], dim=1))
