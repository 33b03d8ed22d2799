from .coatnet import RelPosSelfAttention, RelPosTransformerBlock
from .csp_stage import CSPSlimStage
from .custom_vit import ConvStemViT
from .fast_cifar_net import FastCIFARNet
from .gated_ghost import GatedGhostBlock, GatedGhostModule
from .ghost import GhostBasicBlock, GhostModule
from .gmlp import GMLPStage, SpatialGatingUnit
from .hornet_block import HorNetStageBlock
from .mbconv import MBConvBlock
from .plain_resnet import PlainResNet_CIFAR
from .resnest_block import ResNeStBlock
from .resnet_ms import ResNetMS
from .slim_blocks import SlimBasicBlock, SlimBottleneck
from .slim_convnext import ConvNeXtStageBlock
from .slim_resnet import SlimResNet
from .timm_pooled import TIMMPooledBackbone

__all__ = ['FastCIFARNet', 'ResNetMS']
__all__ += ['SlimBasicBlock', 'SlimBottleneck', 'SlimResNet']
__all__ += [
    'RelPosSelfAttention', 'RelPosTransformerBlock', 'CSPSlimStage',
    'GatedGhostBlock', 'GatedGhostModule', 'GhostBasicBlock', 'GhostModule',
    'GMLPStage', 'SpatialGatingUnit', 'HorNetStageBlock', 'MBConvBlock',
    'ResNeStBlock', 'ConvNeXtStageBlock'
]
__all__ += ['ConvStemViT', 'PlainResNet_CIFAR', 'TIMMPooledBackbone']
