from .fast_cifar_net import FastCIFARNet
from .resnet_ms import ResNetMS
from .slim_blocks import SlimBasicBlock, SlimBottleneck
from .slim_resnet import SlimResNet
from .coatnet import RelPosSelfAttention, RelPosTransformerBlock
from .csp_stage import CSPSlimStage
from .gated_ghost import GatedGhostBlock, GatedGhostModule
from .ghost import GhostBasicBlock, GhostModule
from .gmlp import GMLPStage, SpatialGatingUnit
from .hornet_block import HorNetStageBlock
from .mbconv import MBConvBlock
from .resnest_block import ResNeStBlock
from .slim_convnext import ConvNeXtStageBlock

__all__ = ['FastCIFARNet', 'ResNetMS']
__all__ += ['SlimBasicBlock', 'SlimBottleneck', 'SlimResNet']
__all__ += ['RelPosSelfAttention', 'RelPosTransformerBlock', 'CSPSlimStage', 'GatedGhostBlock',
            'GatedGhostModule', 'GhostBasicBlock', 'GhostModule', 'GMLPStage', 'SpatialGatingUnit',
            'HorNetStageBlock', 'MBConvBlock', 'ResNeStBlock', 'ConvNeXtStageBlock']
from .custom_vit import ConvStemViT  # noqa: E402
from .plain_resnet import PlainResNet_CIFAR  # noqa: E402
from .timm_pooled import TIMMPooledBackbone  # noqa: E402
__all__ += ['ConvStemViT', 'PlainResNet_CIFAR', 'TIMMPooledBackbone']
