from .batch_tta import BatchFlipTranslateTTA

__all__ = ['BatchFlipTranslateTTA']
