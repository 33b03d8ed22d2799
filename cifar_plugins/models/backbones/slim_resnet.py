"""SlimResNet: a CIFAR ResNet whose stages, widths, blocks and attention are
configurable."""
import copy

import torch
from mmcv.cnn import ConvModule
from mmengine.model import ModuleList, Sequential
from mmpretrain.models.backbones.base_backbone import BaseBackbone
from mmpretrain.models.utils import make_divisible

from cifar_plugins.registry import MODELS

# set by SlimResNet for every block / stage; not allowed in a ``block`` dict
_RESERVED_BLOCK_KEYS = ('in_channels', 'out_channels', 'stride', 'num_blocks',
                        'attention', 'drop_path_rate', 'drop_path_rates')


def _per_stage(value, name, num_stages):
    """A single setting repeated per stage, or a list checked to have one per
    stage."""
    if isinstance(value, (list, tuple)):
        if len(value) != num_stages:
            raise ValueError(
                f'SlimResNet: {name} lists {len(value)} entries for '
                f'{num_stages} stages')
        return list(value)
    return [value] * num_stages


@MODELS.register_module()
class SlimResNet(BaseBackbone):
    """A slim CIFAR ResNet with a block type and an attention hook per stage.

    CIFAR stem (3x3 conv, stride 1, norm, act; no max-pool), then one stage
    per entry of ``depths``. A stage is built from ``block`` (a ``MODELS``
    type): a class with ``is_stage = True`` builds the whole stage and is
    called once as ``cls(in_channels, out_channels, num_blocks, stride,
    attention, drop_path_rates, norm_cfg, act_cfg, **extra)``; any other class
    is a block, called ``num_blocks`` times as ``cls(in_channels, out_channels,
    stride, attention, drop_path_rate, norm_cfg, act_cfg, **extra)`` (the
    first block gets the stage's stride and input width). Blocks own their
    shortcut and apply ``build_attention(attention, out_channels)`` after
    their last conv + norm, before the residual add (see
    :class:`SlimBasicBlock`). Stochastic-depth rates grow linearly from 0 to
    ``drop_path_rate`` over all blocks, as in mmpretrain's ConvNeXt. Written
    here; the width rounding is mmpretrain's ``make_divisible``.

    Args:
        depths (Sequence[int]): Blocks per stage. Defaults to ``(2, 2, 2, 2)``.
        widths (Sequence[int]): Output widths per stage before
            ``width_mult``. Defaults to ``(64, 128, 256, 512)``.
        width_mult (float): Multiplier of ``widths``; each result is rounded
            to a multiple of 8 (``make_divisible(w * width_mult, 8)``).
            Defaults to 0.5.
        stem_channels (int, optional): Stem width, not multiplied. Defaults to
            None: the first stage's width.
        block (dict | list[dict]): Block (or stage) config, e.g.
            ``dict(type='SlimBasicBlock')``, or one per stage. Extra keys are
            passed to the class and may override ``norm_cfg`` / ``act_cfg``.
            Defaults to ``dict(type='SlimBasicBlock')``.
        attention (dict | str | list, optional): Attention config for every
            block (see :func:`build_attention`), or one per stage with
            ``None`` where there is none. Defaults to None.
        drop_path_rate (float): Stochastic depth rate of the last block.
            Defaults to 0.
        strides (Sequence[int]): Stride of each stage's first block.
            Defaults to ``(1, 2, 2, 2)``.
        norm_cfg (dict): Norm config. Defaults to ``dict(type='BN')``.
        act_cfg (dict): Activation config. Defaults to ``dict(type='ReLU')``.
        out_indices (Sequence[int]): Stages (0-based, negative allowed) whose
            outputs are returned, in stage order. Defaults to ``(3, )``.
        init_cfg (dict | list[dict], optional): Initialization config.
            Defaults to None: the ResNet init, Kaiming (fan-out) for every
            ``Conv2d`` and ones for BN/GN scales. Every block (or stage) then
            applies its own init over it in ``init_weights`` (the stages are
            mmengine containers, so each block's ``init_weights`` is called):
            the ResNet-family blocks (basic, bottleneck, Ghost, ResNeSt, CSP)
            keep it, ConvNeXt and HorNet blocks use truncated normal std 0.02
            (layer scale 1e-6), MBConv EfficientNet's fan-out normal, the
            CoAtNet transformer truncated normal std 0.02 (see each block).
    """

    def __init__(self,
                 depths=(2, 2, 2, 2),
                 widths=(64, 128, 256, 512),
                 width_mult=0.5,
                 stem_channels=None,
                 block=dict(type='SlimBasicBlock'),
                 attention=None,
                 drop_path_rate=0.0,
                 strides=(1, 2, 2, 2),
                 norm_cfg=dict(type='BN'),
                 act_cfg=dict(type='ReLU'),
                 out_indices=(3, ),
                 init_cfg=None):
        if init_cfg is None:
            init_cfg = [
                dict(type='Kaiming', layer=['Conv2d']),
                dict(
                    type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])
            ]
        super().__init__(init_cfg)
        num_stages = len(depths)
        if num_stages == 0 or any(int(d) < 1 for d in depths):
            raise ValueError(
                f'SlimResNet: depths must be positive, got {depths}')
        if len(widths) != num_stages or len(strides) != num_stages:
            raise ValueError(
                f'SlimResNet: depths {depths}, widths {widths} and strides '
                f'{strides} must have one entry per stage')
        if width_mult <= 0:
            raise ValueError(
                f'SlimResNet: width_mult must be > 0, got {width_mult}')
        self.out_indices = self._check_out_indices(out_indices, num_stages)
        self.depths = tuple(depths)
        self.stage_channels = tuple(
            make_divisible(w * width_mult, 8) for w in widths)
        self.stem_channels = stem_channels or self.stage_channels[0]
        self.drop_path_rates = torch.linspace(0, drop_path_rate,
                                              sum(depths)).tolist()

        self.stem = ConvModule(
            3,
            self.stem_channels,
            3,
            padding=1,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg)
        self.stages = ModuleList()
        in_channels, first = self.stem_channels, 0
        for i, (block_cfg, attn_cfg) in enumerate(
                zip(
                    _per_stage(block, 'block', num_stages),
                    _per_stage(attention, 'attention', num_stages))):
            self.stages.append(
                self._make_stage(block_cfg, in_channels,
                                 self.stage_channels[i], depths[i], strides[i],
                                 attn_cfg,
                                 self.drop_path_rates[first:first + depths[i]],
                                 norm_cfg, act_cfg))
            in_channels, first = self.stage_channels[i], first + depths[i]

    @staticmethod
    def _check_out_indices(out_indices, num_stages):
        indices = set()
        for index in out_indices:
            if not -num_stages <= index < num_stages:
                raise ValueError(
                    f'SlimResNet: out_indices {out_indices} out of range for '
                    f'{num_stages} stages')
            indices.add(index % num_stages)
        return tuple(sorted(indices))

    @staticmethod
    def _make_stage(block_cfg, in_channels, out_channels, num_blocks, stride,
                    attention, drop_path_rates, norm_cfg, act_cfg):
        if not isinstance(block_cfg, dict) or 'type' not in block_cfg:
            raise TypeError('SlimResNet: block must be a dict with a '
                            f'"type", got {block_cfg!r}')
        extra = copy.deepcopy(dict(block_cfg))
        block_type = extra.pop('type')
        reserved = sorted(set(extra) & set(_RESERVED_BLOCK_KEYS))
        if reserved:
            raise ValueError(
                f'SlimResNet: block config {block_cfg} sets {reserved}, which '
                f'SlimResNet sets itself (use its arguments instead)')
        cls = MODELS.get(block_type) if isinstance(block_type,
                                                   str) else block_type
        if cls is None:
            raise KeyError(
                f'block type {block_type!r} is not in the MODELS registry')
        kwargs = dict(
            norm_cfg=copy.deepcopy(norm_cfg), act_cfg=copy.deepcopy(act_cfg))
        kwargs.update(extra)
        if getattr(cls, 'is_stage', False):
            return cls(
                in_channels=in_channels,
                out_channels=out_channels,
                num_blocks=num_blocks,
                stride=stride,
                attention=attention,
                drop_path_rates=list(drop_path_rates),
                **kwargs)
        return Sequential(*(
            cls(in_channels=in_channels if i == 0 else out_channels,
                out_channels=out_channels,
                stride=stride if i == 0 else 1,
                attention=attention,
                drop_path_rate=drop_path_rates[i],
                **copy.deepcopy(kwargs)) for i in range(num_blocks)))

    def forward(self, x):
        x = self.stem(x)
        outs = []
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
