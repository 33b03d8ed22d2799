"""SE: squeeze-and-excitation (Hu et al., CVPR 2018), mmpretrain's SELayer."""
from mmpretrain.models.utils import SELayer

from ..utils.attention import register_attention


@register_attention('se')
class SE(SELayer):
    """Squeeze-and-Excitation attention for :func:`build_attention`.

    A thin adapter: mmpretrain's ``SELayer`` (global pooling, 1x1 conv
    ``C -> make_divisible(C // ratio, divisor)``, ReLU, 1x1 conv back to ``C``,
    sigmoid) is reused unchanged; only the registered name is added here.
    From `Squeeze-and-Excitation Networks <https://arxiv.org/abs/1709.01507>`_.

    Args:
        channels (int): Input (and output) channels.
        ratio (int): Squeeze ratio. Defaults to 16.
        divisor (int): The squeezed width is rounded to a multiple of it.
            Defaults to 8.
        **kwargs: Other arguments of mmpretrain's ``SELayer``
            (``squeeze_channels``, ``act_cfg``, ...).
    """

    def __init__(self, channels, ratio=16, divisor=8, **kwargs):
        if kwargs.get('return_weight'):
            raise ValueError(
                'SE as an attention module must return the re-weighted map')
        super().__init__(channels, ratio=ratio, divisor=divisor, **kwargs)
