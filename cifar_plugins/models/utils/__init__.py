from .attention import attention_types, build_attention, register_attention
from .batch_augment import batch_cutout, random_crop_flip
from .data_preprocessor import CIFARDataPreprocessor

__all__ = ['batch_cutout', 'random_crop_flip', 'CIFARDataPreprocessor', 'attention_types',
           'build_attention', 'register_attention']
from .timm_vit_checkpoint import convert_timm_vit  # noqa: E402  (registers timm-vit://)
__all__ += ['convert_timm_vit']
