"""ConvStemViT: a convolutional stem, a ViT and sequence pooling."""
import pytest
import torch

import cifar_plugins  # noqa: F401
from cifar_plugins.models import ConvStemViT
from cifar_plugins.registry import MODELS


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def vit_layer_params(c, mlp):
    """Two LayerNorms, qkv, output projection and the two FFN linears (with biases)."""
    return 4 * c + (3 * c * c + 3 * c) + (c * c + c) + (c * mlp + mlp) + (mlp * c + c)


def conv_stem_vit_params(stem=(64, 128, 256), c=256, layers=7, mlp=512, tokens=64):
    total, cin = 0, 3
    for w in stem:  # 3x3 conv without bias + BN
        total += 9 * cin * w + 2 * w
        cin = w
    total += cin * c + c  # 1x1 projection to tokens
    total += tokens * c  # position embedding
    total += layers * vit_layer_params(c, mlp)
    return total + 2 * c + (c + 1)  # final LayerNorm + sequence-pooling scorer


def test_conv_stem_vit_registry_params_and_shapes():
    net = MODELS.build(dict(type='ConvStemViT'))
    net.init_weights()
    assert n_params(net) == conv_stem_vit_params()
    out = net(torch.randn(2, 3, 32, 32))
    assert len(out) == 1 and out[0].shape == (2, 256)
    # another input size: the 8x8 position embedding is interpolated
    assert net(torch.randn(1, 3, 48, 48))[0].shape == (1, 256)


def test_conv_stem_vit_gradients_reach_stem():
    net = ConvStemViT(stem_channels=(8, 16), stem_strides=(2, 2), embed_dims=32, num_layers=2,
                      num_heads=2)
    net.init_weights()
    assert net.pos_embed.shape == (1, 64, 32)
    net(torch.randn(2, 3, 32, 32))[0].square().sum().backward()
    assert net.stem[0].conv.weight.grad.abs().sum() > 0
    assert net.pos_embed.grad.abs().sum() > 0


def test_sequence_pooling_is_a_softmax_weighted_mean():
    net = ConvStemViT(stem_channels=(8, ), stem_strides=(4, ), embed_dims=16, num_layers=1,
                      num_heads=2)
    tokens = torch.randn(3, 10, 16)
    weights = torch.softmax(tokens @ net.pool.score.weight.T + net.pool.score.bias, dim=1)
    torch.testing.assert_close(net.pool(tokens), (weights * tokens).sum(1))


def test_conv_stem_vit_bad_arguments():
    with pytest.raises(ValueError, match='not divisible by the stem stride'):
        ConvStemViT(img_size=30)
    with pytest.raises(ValueError, match='num_heads'):
        ConvStemViT(embed_dims=100, num_heads=3)
    with pytest.raises(ValueError, match='equal length'):
        ConvStemViT(stem_channels=(8, 16), stem_strides=(2, ))
