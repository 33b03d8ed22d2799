"""Batch-level augmentation on tensors: random crop + flip, Cutout."""
import torch
import torch.nn.functional as F


def random_crop_flip(inputs,
                     padding=4,
                     flip_prob=0.5,
                     generator=None,
                     pad_mode='constant',
                     flip=None):
    """Random ``padding``-pixel translation (zero-padded crop) and horizontal
    flip.

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
        pad_mode (str): ``'constant'`` (zeros) or ``'reflect'`` padding.
        flip (Tensor, optional): Which samples to flip (N bools); overrides
            ``flip_prob`` (used for the alternating flip).

    Returns:
        Tensor: Augmented images, same shape, dtype and device.
    """
    n, c, h, w = inputs.shape
    device = inputs.device
    rows = torch.arange(h, device=device).expand(n, h)
    cols = torch.arange(w, device=device).expand(n, w)
    if padding > 0:
        if pad_mode == 'reflect' and not inputs.is_floating_point():
            # reflect padding has no integer kernel: pad as float, values stay
            # exact
            inputs = F.pad(
                inputs.float(), (padding, ) * 4,
                mode='reflect').to(inputs.dtype)
        else:
            inputs = F.pad(inputs, (padding, ) * 4, mode=pad_mode)
        offsets = torch.randint(
            0, 2 * padding + 1, (2, n, 1), device=device, generator=generator)
        rows = rows + offsets[0]
        cols = cols + offsets[1]
    if flip is None and flip_prob > 0:
        flip = torch.rand(n, device=device, generator=generator) < flip_prob
    if flip is not None:
        cols = torch.where(flip.to(device).reshape(n, 1), cols.flip(1), cols)
    batch = torch.arange(n, device=device)[:, None, None, None]
    chans = torch.arange(c, device=device)[None, :, None, None]
    return inputs[batch, chans, rows[:, None, :, None], cols[:, None, None, :]]


def batch_cutout(inputs, size, fill=0, generator=None):
    """Cutout (DeVries & Taylor, 2017) for a whole batch with one mask.

    Each sample gets one ``size`` x ``size`` square set to ``fill``; the
    square's centre is uniform over the image, so near the borders the square
    is clipped (as in the paper, where it may lie partly outside the image).
    The mask is built from per-sample row and column ranges with broadcasting
    (no loop over samples). mmpretrain's ``Cutout`` transform does the same
    per image in the dataset pipeline; this version runs on the batch tensor.

    Args:
        inputs (Tensor): Images (N, C, H, W).
        size (int): Side of the square in pixels (16 for CIFAR-10 and 8 for
            CIFAR-100 in the paper). 0 returns ``inputs`` unchanged.
        fill (float | Tensor): Value of the cut-out pixels; a tensor of C
            values fills each channel with its own value. Defaults to 0.
        generator (torch.Generator, optional): Source of randomness.

    Returns:
        Tensor: Images with the squares filled, same shape, dtype and device.
    """
    if size < 0:
        raise ValueError(f'cutout size must be >= 0, got {size}')
    if size == 0:
        return inputs
    n, c, h, w = inputs.shape
    device = inputs.device
    centres = torch.stack([
        torch.randint(0, h, (n, 1), device=device, generator=generator),
        torch.randint(0, w, (n, 1), device=device, generator=generator)
    ])
    starts = centres - size // 2
    rows = torch.arange(h, device=device)
    cols = torch.arange(w, device=device)
    in_rows = (rows >= starts[0]) & (rows < starts[0] + size)  # N, H
    in_cols = (cols >= starts[1]) & (cols < starts[1] + size)  # N, W
    mask = (in_rows[:, :, None] & in_cols[:, None, :])[:, None]  # N, 1, H, W
    fill = torch.as_tensor(
        fill, dtype=inputs.dtype, device=device).reshape(1, -1, 1, 1)
    return torch.where(mask, fill, inputs)


def alternating_flip(sample_idx, epoch, seed=0):
    """airbench's alternating flip: sample ``i`` is flipped in epoch ``e`` iff
    ``b_i XOR (e odd)``, with ``b_i`` a fixed pseudo-random bit per sample.

    Every image is seen mirrored and unmirrored in alternate epochs instead
    of by chance, and half of the images are flipped in every epoch.

    Args:
        sample_idx (Tensor): Dataset indices of the batch (N,).
        epoch (int): Training epoch (0-based).
        seed (int): Changes the bits ``b_i``.

    Returns:
        Tensor: N bools.
    """
    idx = sample_idx.long() + seed
    bits = (
        (idx * 2654435761) >> 16) & 1  # Knuth's multiplicative hash, bit 16
    return (bits ^ (epoch & 1)).bool()
