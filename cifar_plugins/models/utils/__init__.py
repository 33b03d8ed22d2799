from .batch_augment import random_crop_flip
from .data_preprocessor import CIFARDataPreprocessor

__all__ = ['random_crop_flip', 'CIFARDataPreprocessor']
