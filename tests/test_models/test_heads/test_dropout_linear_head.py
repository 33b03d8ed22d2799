"""DropoutLinearClsHead: dropout before the linear layer in training only."""
import pytest
import torch

import cifar_plugins  # noqa: F401
from cifar_plugins.registry import MODELS


def test_dropout_head_drops_in_train_mode_only():
    head = MODELS.build(dict(type='DropoutLinearClsHead', num_classes=2000, in_channels=2000,
                             dropout_rate=0.5))
    assert sum(p.numel() for p in head.parameters()) == 2000 * 2000 + 2000  # = LinearClsHead
    with torch.no_grad():
        head.fc.weight.copy_(torch.eye(2000))
        head.fc.bias.zero_()
    feats = (torch.rand(4, 2000) + 1.0,)
    head.train()
    out = head(feats)
    dropped = out == 0
    assert 0.4 < dropped.float().mean() < 0.6
    torch.testing.assert_close(out[~dropped], 2 * feats[0][~dropped])  # kept, scaled by 1/(1-p)
    head.eval()
    torch.testing.assert_close(head(feats), feats[0])
    torch.testing.assert_close(head.pre_logits(feats), feats[0])
    with pytest.raises(ValueError, match=r'dropout_rate must be in \[0, 1\)'):
        MODELS.build(dict(type='DropoutLinearClsHead', num_classes=10, in_channels=8,
                          dropout_rate=1.0))
