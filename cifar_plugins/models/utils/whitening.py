"""A patch-whitening convolution whose weights come from the training
images."""
import torch
import torch.nn as nn
import torch.nn.functional as F


def image_patches(images, kernel_size):
    """All ``k x k`` patches (stride 1, no padding) as rows:
    ``(P, C * k * k)``."""
    c = images.size(1)
    patches = F.unfold(images.float(), kernel_size)  # N, C*k*k, L
    return patches.transpose(1, 2).reshape(-1, c * kernel_size * kernel_size)


class WhiteningConv2d(nn.Conv2d):
    """``k x k`` convolution that whitens image patches (airbench's first
    layer).

    :meth:`fit` sets the filters from the eigen-decomposition of the patches'
    second-moment matrix ``M = V diag(l) V^T`` of (normalised) training
    images: filter ``i`` is ``v_i / sqrt(l_i + eps)`` and the second half of
    the filters are their negatives, so after a GELU both signs of each
    whitened direction survive. On the fitted patches the first half of the
    outputs (without bias) then has second moment ``diag(l / (l + eps))``,
    the identity up to ``eps``. The weights stay frozen (no gradient); the
    bias is trainable, and
    :class:`~cifar_plugins.engine.hooks.WhiteningInitHook` fits the layer
    before training and can freeze the bias after some epochs. ``fitted`` is a
    buffer, so checkpoints keep the fitted state and a resumed run does not
    refit.

    Args:
        in_channels (int): Image channels.
        kernel_size (int): Patch side. Defaults to 2.
        eps (float): Added to the eigenvalues; bounds the gain of
            low-variance directions. Defaults to 5e-4.
        stride (int): Stride of the convolution. With ``stride ==
            kernel_size`` the layer is a lossless space-to-depth step (every
            pixel is in exactly one patch) that halves the resolution of all
            later layers. The fit uses every patch either way. Defaults to 1.
    """

    def __init__(self, in_channels=3, kernel_size=2, eps=5e-4, stride=1):
        out_channels = 2 * in_channels * kernel_size * kernel_size
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=0,
            bias=True)
        self.eps = eps
        self.weight.requires_grad_(False)
        self.register_buffer('fitted', torch.zeros((), dtype=torch.bool))

    @torch.no_grad()
    def fit(self, images):
        """Set the filters from ``images`` (N, C, H, W), already normalised."""
        k = self.kernel_size[0]
        patches = image_patches(images.to(self.weight.device), k).double()
        moment = patches.T @ patches / patches.size(0)
        eigenvalues, eigenvectors = torch.linalg.eigh(moment)  # ascending
        order = eigenvalues.argsort(descending=True)
        eigenvalues, eigenvectors = eigenvalues[order], eigenvectors[:, order]
        filters = (eigenvectors /
                   torch.sqrt(eigenvalues.clamp_min(0) + self.eps)).T
        filters = filters.reshape(-1, self.in_channels, k, k)
        self.weight.copy_(torch.cat([filters, -filters]).to(self.weight.dtype))
        self.bias.zero_()
        self.fitted.fill_(True)
        return eigenvalues
