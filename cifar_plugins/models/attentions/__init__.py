from .eca import ECA, eca_kernel_size
from .group_softmax import ChannelGroupSoftmax
from .lsk import LSKAttention
from .msca import MSCA
from .se import SE

__all__ = [
    'ECA', 'eca_kernel_size', 'LSKAttention', 'MSCA', 'SE',
    'ChannelGroupSoftmax'
]
