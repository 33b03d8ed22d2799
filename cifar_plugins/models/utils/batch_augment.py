"""Batch-level geometric augmentation on tensors."""
import torch
import torch.nn.functional as F


def random_crop_flip(inputs, padding=4, flip_prob=0.5, generator=None):
    """Random ``padding``-pixel translation (zero-padded crop) and horizontal flip.

    The same augmentation as mmpretrain's per-sample ``RandomCrop(32,
    padding=4)`` + ``RandomFlip``, done for the whole batch with one gather:
    each sample's crop offsets select rows/columns of the padded batch, and a
    flip is the same column index read backwards.

    Args:
        inputs (Tensor): Images (N, C, H, W) of any dtype.
        padding (int): Zero padding on each side; offsets are uniform in
            ``[0, 2 * padding]``. 0 disables the crop.
        flip_prob (float): Probability of a horizontal flip per sample.
        generator (torch.Generator, optional): Source of randomness.

    Returns:
        Tensor: Augmented images, same shape, dtype and device.
    """
    n, c, h, w = inputs.shape
    device = inputs.device
    rows = torch.arange(h, device=device).expand(n, h)
    cols = torch.arange(w, device=device).expand(n, w)
    if padding > 0:
        inputs = F.pad(inputs, (padding, padding, padding, padding))
        offsets = torch.randint(0, 2 * padding + 1, (2, n, 1), device=device,
                                generator=generator)
        rows = rows + offsets[0]
        cols = cols + offsets[1]
    if flip_prob > 0:
        flip = torch.rand(n, 1, device=device, generator=generator) < flip_prob
        cols = torch.where(flip, cols.flip(1), cols)
    batch = torch.arange(n, device=device)[:, None, None, None]
    chans = torch.arange(c, device=device)[None, :, None, None]
    return inputs[batch, chans, rows[:, None, :, None], cols[:, None, None, :]]
