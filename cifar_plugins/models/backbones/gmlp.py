"""gMLP stage: gMLP blocks with a spatial gating unit on a stage's tokens."""
import torch
import torch.nn as nn
from mmengine.model import BaseModule, Sequential

from cifar_plugins.registry import MODELS
from ..utils.attention import build_attention
from .slim_blocks import make_drop_path
from .slim_convnext import ConvNeXtDownsample, needs_downsample


def _pair(size):
    return (size, size) if isinstance(size, int) else tuple(size)


@MODELS.register_module()
class SpatialGatingUnit(BaseModule):
    """Spatial gating unit of `Pay Attention to MLPs
    <https://arxiv.org/abs/2105.08050>`_: split the channels into ``(u, v)``
    and return ``u * (W @ LN(v) + b)``, where ``W`` mixes the ``num_tokens``
    positions. ``W`` starts near zero and ``b`` at one, so the unit starts
    as ``u`` (the paper's initialisation); they are plain parameters so a
    backbone's layer-type ``init_cfg`` cannot overwrite them. Written here.

    Args:
        channels (int): Input channels (even); the output has half.
        num_tokens (int): Sequence length ``H * W``.
        init_eps (float): ``W`` starts uniform in
            ``[-init_eps / N, init_eps / N]``. Defaults to 1e-3.
        init_cfg (dict, optional): Initialization config.
    """

    def __init__(self, channels, num_tokens, init_eps=1e-3, init_cfg=None):
        super().__init__(init_cfg)
        if channels % 2:
            raise ValueError(
                f'SpatialGatingUnit splits its channels in two; got {channels}'
            )
        self.num_tokens = num_tokens
        self.init_eps = init_eps
        self.norm = nn.LayerNorm(channels // 2)  # eps 1e-5, as timm's SGU
        self.spatial_weight = nn.Parameter(torch.empty(num_tokens, num_tokens))
        self.spatial_bias = nn.Parameter(torch.empty(num_tokens))
        self.reset_spatial_proj()

    def reset_spatial_proj(self):
        bound = self.init_eps / self.num_tokens
        nn.init.uniform_(self.spatial_weight, -bound, bound)
        nn.init.ones_(self.spatial_bias)

    def init_weights(self):
        super().init_weights()
        self.reset_spatial_proj()

    def forward(self, x):
        """x: (B, N, C) -> (B, N, C / 2)."""
        u, v = x.chunk(2, dim=-1)
        v = torch.einsum('mn,bnc->bmc', self.spatial_weight, self.norm(v))
        return u * (v + self.spatial_bias[:, None])


class GMLPBlock(BaseModule):
    """gMLP block on a (B, C, H, W) map: ``x + V(SGU(GELU(U(LN(tokens)))))``,
    with the attention module from ``build_attention`` on the branch output.
    Written here after the gMLP paper.

    Args:
        channels (int): Channels ``d``.
        num_tokens (int): ``H * W``.
        ffn_ratio (float): ``d_ffn / d`` (6 in the paper). Defaults to 6.
        drop_path_rate (float): Stochastic depth rate. Defaults to 0.
        attention (dict, optional): Attention config. Defaults to None.
        init_cfg (dict, optional): Initialization config.
    """

    def __init__(self,
                 channels,
                 num_tokens,
                 ffn_ratio=6.,
                 drop_path_rate=0.,
                 attention=None,
                 init_cfg=None):
        super().__init__(init_cfg)
        ffn_channels = 2 * int(channels * ffn_ratio / 2)
        self.norm = nn.LayerNorm(channels, eps=1e-6)
        self.proj_in = nn.Linear(channels, ffn_channels)
        self.act = nn.GELU()
        self.sgu = SpatialGatingUnit(ffn_channels, num_tokens)
        self.proj_out = nn.Linear(ffn_channels // 2, channels)
        self.attention = build_attention(attention, channels)
        self.drop_path = make_drop_path(drop_path_rate)

    def forward(self, x):
        batch, channels, height, width = x.shape
        tokens = x.flatten(2).transpose(1, 2)
        out = self.proj_out(
            self.sgu(self.act(self.proj_in(self.norm(tokens)))))
        out = out.transpose(1, 2).reshape(batch, channels, height, width)
        return x + self.drop_path(self.attention(out))


@MODELS.register_module()
class GMLPStage(BaseModule):
    """A SlimResNet stage of gMLP blocks (spatial gating unit over the
    stage's tokens), from `Pay Attention to MLPs
    <https://arxiv.org/abs/2105.08050>`_.

    The spatial projection of the SGU is an ``N x N`` matrix, so the token
    grid is fixed at build time: pass ``input_resolution``, the (H, W) of the
    stage's *input*; the blocks run on ``input_resolution // stride``
    (after a LayerNorm + strided conv, :class:`ConvNeXtDownsample`, when the
    stride or width changes). A mismatching input raises a ``ValueError``
    naming the expected size. Written here; mmpretrain has no gMLP.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        num_blocks (int): Number of gMLP blocks.
        stride (int): Stride of the downsampling layer. Defaults to 1.
        attention (dict, optional): Attention config, applied in every
            block. Defaults to None.
        drop_path_rates (Sequence[float], optional): One rate per block.
        norm_cfg (dict, optional): The backbone's norm; unused (gMLP uses
            LayerNorm).
        act_cfg (dict, optional): The backbone's activation; unused (gMLP
            uses GELU).
        input_resolution (int | tuple[int]): (H, W) of the stage input, e.g.
            8 for the last stage of a SlimResNet on 32x32 images. Required.
        ffn_ratio (float): ``d_ffn / d``. Defaults to 6.
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
                 norm_cfg=None,
                 act_cfg=None,
                 input_resolution=None,
                 ffn_ratio=6.,
                 init_cfg=None):
        super().__init__(init_cfg)
        if input_resolution is None:
            raise ValueError(
                'GMLPStage needs input_resolution, the (H, W) of the stage '
                'input (e.g. 8 for the last stage on 32x32 images): its '
                'spatial gating unit mixes a fixed number of tokens')
        drop_path_rates = list(drop_path_rates or [0.] * num_blocks)
        if len(drop_path_rates) != num_blocks:
            raise ValueError(
                f'GMLPStage got {len(drop_path_rates)} drop_path_rates '
                f'for {num_blocks} blocks')
        height, width = _pair(input_resolution)
        self.input_resolution = (height, width)
        self.resolution = (height // stride, width // stride)
        self.downsample = (
            ConvNeXtDownsample(
                in_channels, out_channels, stride) if needs_downsample(
                    in_channels, out_channels, stride) else nn.Identity())
        num_tokens = self.resolution[0] * self.resolution[1]
        self.blocks = Sequential(*[
            GMLPBlock(out_channels, num_tokens, ffn_ratio, rate, attention)
            for rate in drop_path_rates
        ])

    def forward(self, x):
        if tuple(x.shape[-2:]) != self.input_resolution:
            raise ValueError(
                f'GMLPStage was built for {self.input_resolution} inputs '
                f'(input_resolution) but got {tuple(x.shape[-2:])}; set '
                'input_resolution to the stage input size for this image size')
        return self.blocks(self.downsample(x))
