from .attention_neck import AttentionNeck

__all__ = []
__all__ += ['AttentionNeck']
