from .eca import ECA, eca_kernel_size
from .lsk import LSKAttention
from .msca import MSCA
from .se import SE
from .group_softmax import ChannelGroupSoftmax

__all__ = ['ECA', 'eca_kernel_size', 'LSKAttention', 'MSCA', 'SE', 'ChannelGroupSoftmax']
