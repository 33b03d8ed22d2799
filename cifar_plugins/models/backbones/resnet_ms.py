"""ResNet-MS: a CIFAR ResNet that fuses multi-scale features into its
output."""
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmpretrain.models.backbones import ResNet_CIFAR

from cifar_plugins.registry import MODELS


@MODELS.register_module()
class ResNetMS(ResNet_CIFAR):
    """CIFAR ResNet with multi-scale feature fusion (ResNet18-MS with depth
    18).

    Design: the last stage (4x4 on CIFAR) sees the image only through 32x
    down-sampled, highly abstract features; the earlier stages hold the
    texture, colour and part evidence at 32x32/16x16/8x8 that a 32-pixel image
    relies on. Each fused stage is average-pooled to the last stage's
    resolution, projected by a 1x1 conv + BN to its width and added to it
    (a bottom-up lateral path as in PANet, or hypercolumns read at one scale).
    The projections' BN scales start at zero, so training starts from the
    exact plain ResNet and learns how much of each scale to use; the cost is
    one 1x1 conv per fused stage at 4x4 (depth 18: +0.23M parameters, 11.41M
    in all, and +0.69% MACs, of which the lateral 1x1 convs +0.66%). Written
    here; the plain network is mmpretrain's ``ResNet_CIFAR``, one ``type=``
    line away.

    Args:
        depth (int): ResNet depth, from {18, 34, 50, 101, 152}.
        fuse_stages (Sequence[int]): Stages (0-based, excluding the last)
            whose outputs are fused into the last stage. ``()`` gives the
            plain ResNet_CIFAR. Defaults to ``(0, 1, 2)``.
        **kwargs: Arguments of :class:`mmpretrain.models.ResNet_CIFAR`.
            ``out_indices`` may list earlier stages too; the last stage's
            output is always the fused one.
    """

    def __init__(self, depth=18, fuse_stages=(0, 1, 2), **kwargs):
        super().__init__(depth, **kwargs)
        last = self.num_stages - 1
        if any(not 0 <= s < last for s in fuse_stages):
            raise ValueError(
                f'fuse_stages must lie in [0, {last - 1}], got {fuse_stages}')
        self.fuse_stages = tuple(fuse_stages)
        out_ch = self._stage_channels(last)
        self.laterals = nn.ModuleDict()
        for s in self.fuse_stages:
            _, norm = build_norm_layer(self.norm_cfg, out_ch)
            self.laterals[str(s)] = nn.Sequential(
                nn.Conv2d(self._stage_channels(s), out_ch, 1, bias=False),
                norm)

    def _stage_channels(self, stage):
        return self.base_channels * 2**stage * self.expansion

    def init_weights(self):
        super().init_weights()
        for lateral in self.laterals.values():
            nn.init.zeros_(lateral[1].weight)  # start as the plain ResNet

    def forward(self, x):
        x = self.relu(self.norm1(self.conv1(x)))
        stage_outs = []
        for layer_name in self.res_layers:
            x = getattr(self, layer_name)(x)
            stage_outs.append(x)
        last = stage_outs[-1]
        for s in self.fuse_stages:
            feat = F.adaptive_avg_pool2d(stage_outs[s], last.shape[-2:])
            last = last + self.laterals[str(s)](feat)
        stage_outs[-1] = last
        return tuple(stage_outs[i] for i in self.out_indices)
