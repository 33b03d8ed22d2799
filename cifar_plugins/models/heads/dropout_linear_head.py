"""Linear classifier head with dropout on the pooled features."""
import torch.nn as nn
from mmpretrain.models.heads import LinearClsHead

from cifar_plugins.registry import MODELS


@MODELS.register_module()
class DropoutLinearClsHead(LinearClsHead):
    """:class:`LinearClsHead` with dropout before the classifier.

    Dropout (Srivastava et al., "Dropout: A Simple Way to Prevent Neural
    Networks from Overfitting", JMLR 2014) on the pooled features, as in the
    classifiers of e.g. EfficientNet and ConvNeXt. mmpretrain's
    ``LinearClsHead`` has no dropout and ``StackedLinearClsHead`` only drops
    after hidden layers, so this subclass adds the one ``nn.Dropout`` before
    ``fc``; everything else (loss, init, prediction) is ``LinearClsHead``'s.
    ``pre_logits`` stays dropout-free, so extracted features are unchanged.

    Args:
        num_classes (int): Number of categories.
        in_channels (int): Number of input feature channels.
        dropout_rate (float): Probability of zeroing a feature during
            training. Defaults to 0.5.
        **kwargs: Other arguments of :class:`LinearClsHead` (``loss``,
            ``topk``, ``init_cfg``...).
    """

    def __init__(self, num_classes, in_channels, dropout_rate=0.5, **kwargs):
        super().__init__(
            num_classes=num_classes, in_channels=in_channels, **kwargs)
        if not 0 <= dropout_rate < 1:
            raise ValueError(
                f'dropout_rate must be in [0, 1), got {dropout_rate}')
        self.dropout_rate = dropout_rate
        self.dropout = nn.Dropout(dropout_rate)

    def forward(self, feats):
        return self.fc(self.dropout(self.pre_logits(feats)))
