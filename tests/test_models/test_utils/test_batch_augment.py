"""Batch augmentation on tensors: crop + flip, alternating flip, Cutout."""
import pytest
import torch
import torch.nn.functional as F

import cifar_plugins  # noqa: F401
from cifar_plugins.models import batch_cutout, random_crop_flip
from cifar_plugins.models.utils.batch_augment import alternating_flip


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


def find_crop(padded, out, padding):
    """(dy, dx, flipped) such that out is that crop of padded, else None."""
    h, w = out.shape[-2:]
    for dy in range(2 * padding + 1):
        for dx in range(2 * padding + 1):
            crop = padded[..., dy:dy + h, dx:dx + w]
            if torch.equal(crop, out):
                return dy, dx, False
            if torch.equal(crop.flip(-1), out):
                return dy, dx, True
    return None


@pytest.mark.parametrize('pad_mode', ['constant', 'reflect'])
def test_crop_offsets_stay_within_padding_and_flip_is_on_width(pad_mode):
    torch.manual_seed(0)
    x = torch.randint(0, 256, (64, 3, 12, 10), dtype=torch.uint8)
    out = random_crop_flip(x, padding=2, flip_prob=0.5, pad_mode=pad_mode)
    assert out.dtype == torch.uint8 and out.shape == x.shape
    padded = F.pad(x.float(), (2, 2, 2, 2), mode=pad_mode).to(torch.uint8)
    found = [find_crop(padded[i], out[i], 2) for i in range(len(x))]
    assert all(f is not None for f in found)  # every output is a crop within the padding
    offsets = {(dy, dx) for dy, dx, _ in found}
    assert len(offsets) > 10  # offsets vary over the 5 x 5 range
    flips = [f for _, _, f in found]
    assert 15 < sum(flips) < 49
    # a flip mirrors columns (width), never rows
    flipped = random_crop_flip(x, padding=0, flip=torch.ones(64, dtype=torch.bool))
    assert torch.equal(flipped, x.flip(3))


def test_alternating_flip_flips_exactly_the_odd_epochs():
    idx = torch.arange(1000)
    first = alternating_flip(idx, 0)
    assert 400 < int(first.sum()) < 600
    for epoch in range(1, 6):
        assert torch.equal(alternating_flip(idx, epoch), first ^ bool(epoch % 2))


def zero_box(mask):
    """Rows and columns spanned by the True entries; checks they form a rectangle."""
    rows = torch.nonzero(mask.any(1)).flatten()
    cols = torch.nonzero(mask.any(0)).flatten()
    assert len(rows) and len(cols)
    assert rows[-1] - rows[0] + 1 == len(rows) and cols[-1] - cols[0] + 1 == len(cols)
    box = torch.zeros_like(mask)
    box[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1] = True
    assert torch.equal(box, mask)  # exactly the rectangle, nothing else
    return rows, cols


@pytest.mark.parametrize('size', [16, 5])
def test_batch_cutout_zeroes_one_clipped_square_per_sample(size):
    n, h, w = 256, 32, 32
    x = torch.randint(1, 256, (n, 3, h, w), dtype=torch.uint8)
    out = batch_cutout(x, size, generator=torch.Generator().manual_seed(0))
    assert out.dtype == torch.uint8 and out.shape == x.shape
    zero = out == 0
    assert torch.equal(zero, zero[:, :1].expand_as(zero))  # same square in every channel
    assert torch.equal(out[~zero], x[~zero])
    full = clipped = 0
    for i in range(n):
        rows, cols = zero_box(zero[i, 0])
        for span, extent in ((rows, h), (cols, w)):
            at_border = span[0] == 0 or span[-1] == extent - 1
            # the centre lies inside the image, so at least half the square remains
            assert len(span) == size or (at_border and size // 2 <= len(span) < size)
        if len(rows) == len(cols) == size:
            full += 1
        else:
            clipped += 1
    assert full > 0 and clipped > 0


def test_batch_cutout_fill_per_channel_and_bad_size():
    x = torch.full((4, 3, 8, 8), 9.0)
    out = batch_cutout(x, 4, fill=torch.tensor([1.0, 2.0, 3.0]))
    for c, value in enumerate((1.0, 2.0, 3.0)):
        assert ((out[:, c] == value) == (out[:, 0] == 1.0)).all()
    assert (out[:, 0] == 1.0).any() and torch.equal(batch_cutout(x, 0), x)
    with pytest.raises(ValueError, match='cutout size must be >= 0'):
        batch_cutout(x, -1)
