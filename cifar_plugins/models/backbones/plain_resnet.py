"""Plain (shortcut-free) CIFAR ResNets: the control arm of the degradation
study."""
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmpretrain.models.backbones import ResNet_CIFAR
from mmpretrain.models.backbones.resnet import BasicBlock

from cifar_plugins.registry import MODELS


class PlainBasicBlock(BasicBlock):
    """mmpretrain's :class:`BasicBlock` with the identity path removed.

    ``conv3x3-BN-ReLU-conv3x3-BN-ReLU``: the convolutions and norms are built
    by :class:`BasicBlock`; only the forward (no ``+ identity``) is written
    here. A block that changes resolution or width does so in its first
    convolution, so no projection is needed.
    """

    def __init__(self, *args, downsample=None, drop_path_rate=0.0, **kwargs):
        if downsample is not None:
            raise ValueError(
                'PlainBasicBlock has no shortcut, so no downsample module')
        if drop_path_rate > 0:
            raise ValueError(
                'drop_path needs a shortcut to fall back on; a plain block '
                'would output zeros')
        super().__init__(*args, downsample=None, drop_path_rate=0.0, **kwargs)

    def forward(self, x):

        def _inner_forward(x):
            out = self.relu(self.norm1(self.conv1(x)))
            return self.relu(self.norm2(self.conv2(out)))

        if self.with_cp and x.requires_grad:
            return cp.checkpoint(_inner_forward, x, use_reentrant=False)
        return _inner_forward(x)


@MODELS.register_module()
class PlainResNet_CIFAR(ResNet_CIFAR):
    """CIFAR ResNet18/34 without shortcuts ("plain" networks of He et al.).

    `Deep Residual Learning for Image Recognition
    <https://arxiv.org/abs/1512.03385>`_ compares ResNets with the same
    networks stripped of their shortcuts and shows that the deeper plain net
    trains *worse* (the degradation problem). This backbone is that control:
    the stem, stage widths, block counts and strides of mmpretrain's
    :class:`ResNet_CIFAR` are reused unchanged; only the identity and the 1x1
    projection shortcuts are gone (the stage-entry block changes width and
    resolution in its first 3x3 conv, as in the paper's plain nets). Written
    here: the block forward and the layer builder.

    ``zero_init_residual`` is always off: zeroing the last BN of a block
    without a shortcut would make the whole network output a constant.

    Args:
        depth (int): 18 or 34 (the BasicBlock depths).
        **kwargs: Arguments of :class:`mmpretrain.models.ResNet_CIFAR`
            (``out_indices``, ``base_channels``, ``norm_cfg``, ``with_cp``...).
    """

    arch_settings = {
        18: (PlainBasicBlock, (2, 2, 2, 2)),
        34: (PlainBasicBlock, (3, 4, 6, 3)),
    }

    def __init__(self,
                 depth,
                 zero_init_residual=False,
                 drop_path_rate=0.0,
                 **kwargs):
        if depth not in self.arch_settings:
            raise KeyError(
                f'PlainResNet_CIFAR supports depth 18 or 34, got {depth}')
        if zero_init_residual:
            raise ValueError(
                'zero_init_residual=True would zero every plain block '
                '(there is no identity path to keep the signal)')
        if drop_path_rate > 0:
            raise ValueError('drop_path_rate must be 0 for a plain network')
        super().__init__(depth, zero_init_residual=False, **kwargs)

    def make_res_layer(self,
                       block,
                       num_blocks,
                       in_channels,
                       out_channels,
                       stride=1,
                       drop_path_rate=0.0,
                       avg_down=False,
                       **kwargs):
        """Stack ``num_blocks`` plain blocks; the first one sets width and
        stride."""
        blocks = []
        for i in range(num_blocks):
            blocks.append(
                block(
                    in_channels=in_channels if i == 0 else out_channels,
                    out_channels=out_channels,
                    stride=stride if i == 0 else 1,
                    **kwargs))
        return nn.Sequential(*blocks)
