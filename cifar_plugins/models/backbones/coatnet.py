"""CoAtNet's transformer block: self-attention with a 2-D relative position
bias, as a SlimResNet block type."""
from functools import lru_cache

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmengine.model.weight_init import trunc_normal_
from mmpretrain.models.utils import build_norm_layer

from cifar_plugins.registry import MODELS
from ..utils.attention import build_attention
from .slim_blocks import make_drop_path


@lru_cache(maxsize=16)
def relative_position_index(height, width, max_distance):
    """Index into a ``(2M-1)^2`` bias table for every pair of positions of an
    ``height x width`` grid; offsets beyond ``M - 1`` are clipped to it."""
    coords = torch.stack(
        torch.meshgrid(
            torch.arange(height), torch.arange(width),
            indexing='ij')).flatten(1)
    offsets = (coords[:, :, None] - coords[:, None, :]).clamp(
        -max_distance + 1, max_distance - 1)
    offsets = offsets + max_distance - 1
    return offsets[0] * (2 * max_distance - 1) + offsets[1]


@MODELS.register_module()
class RelPosSelfAttention(BaseModule):
    """Multi-head self-attention over the positions of a feature map with a
    learned 2-D relative position bias, ``softmax(q k^T / sqrt(d) + B[i - j])``
    (CoAtNet's "relative attention").

    Written here after `CoAtNet <https://arxiv.org/abs/2106.04803>`_; the
    attention itself is torch's ``scaled_dot_product_attention`` with the bias
    as an additive mask. The bias table covers offsets up to
    ``rel_pos_size - 1`` in each direction: ``(2M-1)^2`` entries per head,
    CoAtNet's (and timm's ``RelPosBias``) table for an ``M x M`` grid, so
    ``rel_pos_size`` should be the grid side the attention runs on (the
    transformer block sizes it from its stage's ``resolution``). Smaller
    grids use the central entries only; larger grids share the outermost
    entries (clipped distances, as in Shaw et al. 2018).

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels of the output projection.
        num_heads (int): Number of heads.
        head_dim (int): Channels per head. Defaults to 32.
        rel_pos_size (int): Largest grid side with distinct biases.
            Defaults to 16.
        init_cfg (dict, optional): Initialization config.
    """

    def __init__(self,
                 in_channels,
                 out_channels,
                 num_heads,
                 head_dim=32,
                 rel_pos_size=16,
                 init_cfg=None):
        super().__init__(init_cfg)
        self.num_heads = num_heads
        self.head_dim = head_dim
        self.rel_pos_size = rel_pos_size
        inner = num_heads * head_dim
        self.qkv = nn.Linear(in_channels, 3 * inner)
        self.proj = nn.Linear(inner, out_channels)
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros((2 * rel_pos_size - 1)**2, num_heads))
        trunc_normal_(self.relative_position_bias_table, std=.02)

    def relative_position_bias(self, height, width):
        index = relative_position_index(height, width, self.rel_pos_size)
        bias = self.relative_position_bias_table[index.to(
            self.relative_position_bias_table.device)]
        return bias.permute(2, 0, 1)  # (heads, N, N)

    def forward(self, x):
        """x: (B, C, H, W) -> (B, out_channels, H, W)."""
        batch, _, height, width = x.shape
        tokens = x.flatten(2).transpose(1, 2)
        # head-first channel layout (heads, q/k/v, head_dim), as timm's CoAtNet
        qkv = self.qkv(tokens).view(batch, -1, self.num_heads, 3,
                                    self.head_dim)
        q, k, v = qkv.permute(3, 0, 2, 1, 4)  # each (B, heads, N, head_dim)
        bias = self.relative_position_bias(height, width).to(q.dtype)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        out = self.proj(out.transpose(1, 2).flatten(2))
        return out.transpose(1, 2).reshape(batch, -1, height, width)


@MODELS.register_module()
class RelPosTransformerBlock(BaseModule):
    """CoAtNet transformer block with the SlimResNet block interface.

    ``x = Proj(Pool(x)) + Attention(Pool(LN(x)))`` then
    ``x = x + FFN(LN(x))`` (pre-norm; ``Pool`` is a 2x2 average pool when the
    block is strided, ``Proj`` a 1x1 conv when the shape changes), as
    timm's ``TransformerBlock2d`` (CoAtNet defaults, no layer scale). The
    attention is :class:`RelPosSelfAttention` with ``out_channels //
    head_dim`` heads and a bias table sized for the stage's grid
    (``resolution``); the FFN is two linear layers with GELU on the
    channels, and the attention module from ``build_attention`` re-weights
    its output before the residual add.

    The block owns its initialisation (:meth:`init_weights`, also applied
    at build time): every linear layer and the shortcut conv from a
    truncated normal (std 0.02, zero bias), as mmpretrain's ViT, LayerNorm
    weight 1 / bias 0, so a backbone's Kaiming ``init_cfg`` does not reach
    them (with Kaiming fan-out 1x1 convs as the FFN, the loss diverged under
    SGD at lr 0.1). Written here after CoAtNet; checked against timm's
    ``TransformerBlock2d`` + ``RelPosBias`` in the tests.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        stride (int): Pooling stride. Defaults to 1.
        attention (dict, optional): Attention config for
            ``build_attention``. Defaults to None.
        drop_path_rate (float): Stochastic depth rate. Defaults to 0.
        norm_cfg (dict, optional): The backbone's norm; unused, the block
            uses LayerNorm (``block_norm_cfg``).
        act_cfg (dict, optional): The backbone's activation; unused, the FFN
            uses ``block_act_cfg``.
        head_dim (int): Channels per head. Defaults to 32.
        mlp_ratio (float): FFN expansion. Defaults to 4.
        resolution (int, optional): Side of the token grid of the stage
            (the block's output, e.g. 8 for stage 3 and 4 for stage 4 of a
            SlimResNet on 32x32 images); the bias table is sized from it.
        rel_pos_size (int, optional): Explicit table size (see
            :class:`RelPosSelfAttention`), overriding ``resolution``. One of
            the two is required.
        block_norm_cfg (dict): Pre-norm config.
            Defaults to ``dict(type='LN2d', eps=1e-6)``.
        block_act_cfg (dict): FFN activation. Defaults to GELU.
        init_cfg (dict, optional): Initialization config.
    """

    def __init__(self,
                 in_channels,
                 out_channels,
                 stride=1,
                 attention=None,
                 drop_path_rate=0.,
                 norm_cfg=None,
                 act_cfg=None,
                 head_dim=32,
                 mlp_ratio=4.,
                 resolution=None,
                 rel_pos_size=None,
                 block_norm_cfg=dict(type='LN2d', eps=1e-6),
                 block_act_cfg=dict(type='GELU'),
                 init_cfg=None):
        super().__init__(init_cfg)
        rel_pos_size = rel_pos_size or resolution
        if not rel_pos_size:
            raise ValueError(
                'RelPosTransformerBlock needs resolution, the side of the '
                "stage's token grid (e.g. 4 for the last stage on 32x32 "
                'images), to size its relative-position table')

        def pool():
            return nn.AvgPool2d(
                stride, stride,
                ceil_mode=True) if stride > 1 else nn.Identity()

        self.pool = pool()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                pool(), nn.Conv2d(in_channels, out_channels, 1))
        else:
            self.shortcut = nn.Identity()
        self.norm1 = build_norm_layer(block_norm_cfg, in_channels)
        self.attn = RelPosSelfAttention(
            in_channels,
            out_channels,
            num_heads=max(1, out_channels // head_dim),
            head_dim=head_dim,
            rel_pos_size=rel_pos_size)
        self.norm2 = build_norm_layer(block_norm_cfg, out_channels)
        hidden = int(out_channels * mlp_ratio)
        self.ffn = nn.Sequential(
            nn.Linear(out_channels, hidden), MODELS.build(block_act_cfg),
            nn.Linear(hidden, out_channels))
        self.attention = build_attention(attention, out_channels)
        self.drop_path = make_drop_path(drop_path_rate)
        self._init_layers()

    def _init_layers(self):
        for name, module in self.named_modules():
            if name.startswith('attention'):
                continue  # the attention module keeps its own init
            if isinstance(module, (nn.Linear, nn.Conv2d)):
                trunc_normal_(module.weight, std=.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, (nn.LayerNorm, nn.GroupNorm)):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def init_weights(self):
        """The block's init (over a backbone's), then its own ``init_cfg``."""
        self._init_layers()
        super().init_weights()

    def forward(self, x):
        x = self.shortcut(x) + self.drop_path(
            self.attn(self.pool(self.norm1(x))))
        ffn = self.ffn(self.norm2(x).permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        return x + self.drop_path(self.attention(ffn))
