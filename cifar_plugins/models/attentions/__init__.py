from .eca import ECA, eca_kernel_size
from .lsk import LSKAttention
from .msca import MSCA
from .se import SE
from .split_attention import SplitAttention

__all__ = ['ECA', 'eca_kernel_size', 'LSKAttention', 'MSCA', 'SE', 'SplitAttention']
