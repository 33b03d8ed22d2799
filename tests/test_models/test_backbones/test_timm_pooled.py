"""TIMMPooledBackbone: a timm model's pooled features as a backbone."""
import pytest
import timm
import torch

import cifar_plugins  # noqa: F401
from cifar_plugins.registry import MODELS


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def test_timm_pooled_backbone_tiny_vit_forward_backward():
    backbone = MODELS.build(dict(type='TIMMPooledBackbone', model_name='vit_tiny_patch16_224',
                                 img_size=32, patch_size=4))
    reference = timm.create_model('vit_tiny_patch16_224', img_size=32, patch_size=4,
                                  num_classes=0)
    assert n_params(backbone) == n_params(reference)
    out = backbone(torch.randn(2, 3, 32, 32))
    assert len(out) == 1 and out[0].shape == (2, 192) == (2, backbone.num_features)
    # (the features end in a LayerNorm, whose outputs sum to its bias whatever the input:
    # a plain sum would have a zero gradient up to rounding)
    (out[0] * torch.randn_like(out[0])).sum().backward()
    assert backbone.timm_model.patch_embed.proj.weight.grad.abs().sum() > 0


def test_timm_pooled_backbone_keeps_timm_pooling_and_fc_norm():
    """EVA pools the tokens and then applies fc_norm: the output is that feature."""
    kw = dict(img_size=28, patch_size=14)
    backbone = MODELS.build(dict(type='TIMMPooledBackbone', model_name='eva02_tiny_patch14_224',
                                 **kw))
    full = timm.create_model('eva02_tiny_patch14_224', **kw)  # with its classifier
    full.load_state_dict(backbone.timm_model.state_dict(), strict=False)
    backbone.eval(), full.eval()
    x = torch.randn(2, 3, 28, 28)
    with torch.no_grad():
        expected = full.forward_head(full.forward_features(x), pre_logits=True)
        torch.testing.assert_close(backbone(x)[0], expected)


def test_timm_pooled_backbone_local_pretrained_file_survives_init_weights(tmp_path):
    source = timm.create_model('resnet10t', pretrained=False)
    torch.save(source.state_dict(), tmp_path / 'resnet10t.pth')
    backbone = MODELS.build(dict(type='TIMMPooledBackbone', model_name='resnet10t',
                                 pretrained=True,
                                 pretrained_cfg_overlay=dict(file=str(tmp_path / 'resnet10t.pth'))))
    backbone.init_weights()  # must not re-run timm's initialisation over the weights
    for key, value in backbone.timm_model.state_dict().items():
        assert torch.equal(value, source.state_dict()[key]), key
    out = backbone(torch.randn(2, 3, 32, 32))[0]
    assert out.shape == (2, 512)
    out.sum().backward()
    assert backbone.timm_model.conv1[0].weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match='num_classes'):
        MODELS.build(dict(type='TIMMPooledBackbone', model_name='resnet10t', num_classes=10))
