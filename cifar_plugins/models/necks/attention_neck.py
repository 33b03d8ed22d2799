"""Attention neck: an attention module on the last feature map, then global
pooling."""
import torch
import torch.nn as nn

from cifar_plugins.registry import MODELS
from ..utils.attention import build_attention


@MODELS.register_module()
class AttentionNeck(nn.Module):
    """Attention on the backbone's last feature map followed by global average
    pooling.

    A drop-in replacement of mmpretrain's ``GlobalAveragePooling`` neck that
    first applies one module from :func:`build_attention` (the same configs
    as inside the blocks), so "attention in every block" and "attention once,
    as a neck" are one config line apart. For a tuple input every map is
    pooled (as ``GlobalAveragePooling`` does) and the attention is applied to
    the last one, which the head reads. Written here.

    Args:
        in_channels (int): Channels of the last feature map.
        attention (dict | str): Attention config. Defaults to
            ``dict(type='ECA')``.
    """

    def __init__(self, in_channels, attention=dict(type='ECA')):
        super().__init__()
        self.in_channels = in_channels
        self.attention = build_attention(attention, in_channels)
        self.gap = nn.AdaptiveAvgPool2d(1)

    def init_weights(self):
        pass

    def _pool(self, x):
        return self.gap(x).view(x.size(0), -1)

    def forward(self, inputs):
        if isinstance(inputs, torch.Tensor):
            last, rest = inputs, ()
        elif isinstance(inputs, tuple) and inputs:
            last, rest = inputs[-1], inputs[:-1]
        else:
            raise TypeError(
                'AttentionNeck inputs should be a tensor or a non-empty tuple')
        if last.dim() != 4 or last.size(1) != self.in_channels:
            raise ValueError(
                f'AttentionNeck(in_channels={self.in_channels}) got a feature '
                f'map of shape {tuple(last.shape)}')
        out = self._pool(self.attention(last))
        if isinstance(inputs, torch.Tensor):
            return out
        return tuple(self._pool(x) for x in rest) + (out, )
