from .batch_tta import DEFAULT_TTA_MODEL, BatchFlipTranslateTTA

__all__ = ['BatchFlipTranslateTTA', 'DEFAULT_TTA_MODEL']
