"""WhiteningConv2d: the whitening stem of the fast recipe."""
import torch
import torch.nn.functional as F

import cifar_plugins  # noqa: F401
from cifar_plugins.models.utils.whitening import WhiteningConv2d, image_patches


def natural_images(n=64, seed=0):
    """Correlated, coloured images so the patch covariance is far from identity."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, 36, 36, generator=g)
    x = F.avg_pool2d(x, 5, stride=1)  # spatial correlation
    return x * torch.tensor([1.0, 2.0, 0.5]).view(1, 3, 1, 1) + 0.3 * x.mean(1, keepdim=True)


def test_whitening_output_has_identity_second_moment():
    images = natural_images()
    layer = WhiteningConv2d(3, kernel_size=2, eps=1e-8)
    patches = image_patches(images, 2)
    raw = patches.T @ patches / len(patches)
    assert (raw - torch.eye(12)).abs().max() > 0.5  # not white to begin with
    eigenvalues = layer.fit(images)
    out = F.conv2d(images, layer.weight)  # bias excluded
    first = out[:, :12].permute(0, 2, 3, 1).reshape(-1, 12)
    moment = first.T @ first / len(first)
    assert torch.allclose(moment, torch.eye(12), atol=1e-3)
    assert torch.allclose(out[:, 12:], -out[:, :12])
    # with the default eps the gains are l / (l + eps)
    layer = WhiteningConv2d(3, kernel_size=2)
    eigenvalues = layer.fit(images).float()
    first = F.conv2d(images, layer.weight)[:, :12].permute(0, 2, 3, 1).reshape(-1, 12)
    moment = first.T @ first / len(first)
    expected = torch.diag(eigenvalues / (eigenvalues + layer.eps))
    assert torch.allclose(moment, expected, atol=1e-3)
    assert bool(layer.fitted) and not layer.weight.requires_grad and layer.bias.requires_grad
