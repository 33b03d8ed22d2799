"""FastCIFARNet: shapes and parameters, whitening stem, Dirac init, fixed BN scale,
old checkpoints."""
import pytest
import torch
import torch.nn.functional as F

import cifar_plugins  # noqa: F401
from cifar_plugins.models import FastCIFARNet
from cifar_plugins.models.utils.whitening import WhiteningConv2d


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def test_fast_cifar_net_shapes_and_params():
    net = FastCIFARNet(widths=(32, 64, 128), stem_channels=24)
    out = net(torch.randn(3, 3, 32, 32))
    assert out[0].shape == (3, 128, 4, 4)
    convs = 3 * 24 * 9 + (24 * 32 + 32 * 32 + 32 * 64 + 64 * 64 + 64 * 128 + 128 * 128) * 9
    bns = 2 * (24 + 2 * 32 + 2 * 64 + 2 * 128)
    assert n_params(net) == convs + bns


def natural_images(n=64, seed=0):
    """Correlated, coloured images so the patch covariance is far from identity."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, 36, 36, generator=g)
    x = F.avg_pool2d(x, 5, stride=1)  # spatial correlation
    return x * torch.tensor([1.0, 2.0, 0.5]).view(1, 3, 1, 1) + 0.3 * x.mean(1, keepdim=True)


def test_stride_two_whitening_stem_is_space_to_depth():
    images = natural_images()
    layer = WhiteningConv2d(3, kernel_size=2, eps=1e-8, stride=2)
    layer.fit(images)
    out = (layer(images) - layer.bias.view(1, -1, 1, 1))[:, :12]
    assert out.shape[-2:] == (images.shape[-2] // 2, images.shape[-1] // 2)
    # lossless: the 12 whitened channels of each 2x2 cell give back its 12 pixels
    cells = F.unfold(images, 2, stride=2)  # N, 12, L
    flat = layer.weight[:12].reshape(12, 12)
    restored = torch.linalg.solve(flat, out.flatten(2))
    assert torch.allclose(restored, cells, atol=1e-3)
    net = FastCIFARNet(widths=(8, 16, 16), stem='whitening', stem_stride=2, final_pool='max')
    assert net(torch.randn(2, 3, 32, 32))[0].shape == (2, 16)
    maps = FastCIFARNet(widths=(8, 16, 16), stem='whitening', stem_stride=2)
    assert maps(torch.randn(2, 3, 32, 32))[0].shape == (2, 16, 2, 2)  # 16 -> 8 -> 4 -> 2
    with pytest.raises(ValueError, match='stem_stride'):
        FastCIFARNet(stem_stride=3)


def test_dirac_init_passes_the_input_through():
    net = FastCIFARNet(widths=(8, 16, 16), stem='whitening', dirac_init=True)
    net.init_weights()
    conv = net.groups[1].conv1  # 8 -> 16
    x = torch.randn(2, 8, 6, 6)
    assert torch.equal(conv(x)[:, :8], x)
    conv2 = net.groups[1].conv2  # 16 -> 16: the whole map
    y = torch.randn(2, 16, 6, 6)
    assert torch.allclose(conv2(y), y)


def test_bn_scale_fixed_at_one_after_training_steps():
    net = FastCIFARNet(widths=(8, 16, 16), bn_affine_weight=False, final_pool='max')
    norms = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert norms and all(not m.weight.requires_grad for m in norms)
    opt = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=0.5)
    for _ in range(2):
        opt.zero_grad()
        net(torch.randn(4, 3, 32, 32))[0].square().mean().backward()
        opt.step()
    assert all(torch.equal(m.weight, torch.ones_like(m.weight)) for m in norms)
    assert any(not torch.equal(m.bias, torch.zeros_like(m.bias)) for m in norms)
    assert net(torch.randn(2, 3, 32, 32))[0].shape == (2, 16)


def test_old_fast_cifar_net_checkpoints_still_load():
    new = FastCIFARNet()
    old_keys = {k.replace('conv1', '0').replace('norm1', '2').replace('conv2', '4')
                 .replace('norm2', '5'): v for k, v in new.state_dict().items()}
    assert 'groups.0.0.weight' in old_keys
    other = FastCIFARNet()
    other.load_state_dict(old_keys)
    assert torch.equal(other.groups[0].conv1.weight, new.groups[0].conv1.weight)
