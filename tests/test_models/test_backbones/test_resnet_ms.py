"""ResNetMS: a CIFAR ResNet with multi-stage lateral fusion."""
import pytest
import torch
from mmengine.config import Config
from mmpretrain.models.backbones import ResNet_CIFAR

import cifar_plugins  # noqa: F401
from cifar_plugins.models import ResNetMS
from cifar_plugins.registry import MODELS


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def test_resnet18_ms_output_and_extra_params():
    ms = ResNetMS(depth=18)
    plain = ResNet_CIFAR(depth=18)
    # lateral 1x1 convs (64+128+256)->512 and their BN scale/shift
    extra = (64 + 128 + 256) * 512 + 3 * 2 * 512
    assert n_params(ms) - n_params(plain) == extra
    out = ms(torch.randn(2, 3, 32, 32))
    assert len(out) == 1 and out[0].shape == (2, 512, 4, 4)


def test_resnet_ms_starts_as_plain_resnet():
    torch.manual_seed(0)
    ms = ResNetMS(depth=18)
    ms.init_weights()
    plain = ResNet_CIFAR(depth=18)
    plain.load_state_dict({k: v for k, v in ms.state_dict().items()
                           if not k.startswith('laterals')})
    ms.eval(), plain.eval()
    x = torch.randn(2, 3, 32, 32)
    torch.testing.assert_close(ms(x)[0], plain(x)[0])


def test_resnet_ms_laterals_get_gradients():
    ms = ResNetMS(depth=18, fuse_stages=(1, 2), out_indices=(2, 3))
    ms.init_weights()
    out = ms(torch.randn(2, 3, 32, 32))
    assert [o.shape[1] for o in out] == [256, 512]
    out[-1].sum().backward()
    assert ms.laterals['1'][1].weight.grad.abs().sum() > 0
    assert ms.conv1.weight.grad.abs().sum() > 0
    assert ResNetMS(depth=18, fuse_stages=()).laterals.__len__() == 0
    with pytest.raises(ValueError, match='fuse_stages'):
        ResNetMS(depth=18, fuse_stages=(3,))


@pytest.mark.parametrize('num_classes', [10, 100])
def test_classifier_from_config_shapes(num_classes):
    cfg = Config.fromfile('configs/resnet18_ms_cifar10.py')
    cfg.model.head.num_classes = num_classes
    model = MODELS.build(cfg.model)
    model.init_weights()
    logits = model(torch.randn(2, 3, 32, 32), mode='tensor')
    assert logits.shape == (2, num_classes)
