import pytest
import torch
from mmengine.config import Config
from mmpretrain.models.backbones import ResNet_CIFAR

import cifar_plugins  # noqa: F401
from cifar_plugins.models import CIFARDataPreprocessor, FastCIFARNet, ResNetMS, random_crop_flip
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


def test_fast_cifar_net_shapes_and_params():
    net = FastCIFARNet(widths=(32, 64, 128), stem_channels=24)
    out = net(torch.randn(3, 3, 32, 32))
    assert out[0].shape == (3, 128, 4, 4)
    convs = 3 * 24 * 9 + (24 * 32 + 32 * 32 + 32 * 64 + 64 * 64 + 64 * 128 + 128 * 128) * 9
    bns = 2 * (24 + 2 * 32 + 2 * 64 + 2 * 128)
    assert n_params(net) == convs + bns


def test_random_crop_flip_matches_manual_crop():
    x = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).reshape(2, 3, 8, 8)
    gen = torch.Generator().manual_seed(3)
    out = random_crop_flip(x, padding=2, flip_prob=0.5, generator=gen)
    gen = torch.Generator().manual_seed(3)
    offsets = torch.randint(0, 5, (2, 2, 1), generator=gen)
    flips = torch.rand(2, 1, generator=gen) < 0.5
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    for i in range(2):
        dy, dx = offsets[0, i, 0].item(), offsets[1, i, 0].item()
        ref = padded[i, :, dy:dy + 8, dx:dx + 8]
        if flips[i, 0]:
            ref = ref.flip(-1)
        torch.testing.assert_close(out[i], ref)


def test_random_crop_flip_keeps_dtype_and_content():
    x = torch.randint(0, 256, (16, 3, 32, 32), dtype=torch.uint8)
    out = random_crop_flip(x, padding=0, flip_prob=1.0)
    assert out.dtype == torch.uint8 and torch.equal(out, x.flip(-1))
    assert torch.equal(random_crop_flip(x, padding=0, flip_prob=0.0), x)


def test_data_preprocessor_train_and_test():
    pre = CIFARDataPreprocessor(mean=[0, 0, 0], std=[1, 1, 1], num_classes=10, channels_last=True)
    imgs = [torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8) for _ in range(4)]
    test = pre({'inputs': imgs, 'data_samples': None}, training=False)['inputs']
    torch.testing.assert_close(test, torch.stack(imgs).float())  # no augmentation at test
    assert test.is_contiguous(memory_format=torch.channels_last)
    train = pre({'inputs': torch.stack(imgs), 'data_samples': None}, training=True)['inputs']
    assert train.shape == (4, 3, 32, 32) and train.dtype == torch.float32


@pytest.mark.parametrize('num_classes', [10, 100])
def test_classifier_from_config_shapes(num_classes):
    cfg = Config.fromfile('configs/resnet18_ms_cifar10.py')
    cfg.model.head.num_classes = num_classes
    model = MODELS.build(cfg.model)
    model.init_weights()
    logits = model(torch.randn(2, 3, 32, 32), mode='tensor')
    assert logits.shape == (2, num_classes)
