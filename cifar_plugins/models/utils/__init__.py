from .attention import attention_types, build_attention, register_attention
from .batch_augment import batch_cutout, random_crop_flip
from .data_preprocessor import CIFARDataPreprocessor
from .timm_vit_checkpoint import convert_timm_vit  # registers timm-vit://

__all__ = [
    'batch_cutout', 'random_crop_flip', 'CIFARDataPreprocessor',
    'attention_types', 'build_attention', 'register_attention',
    'convert_timm_vit'
]
