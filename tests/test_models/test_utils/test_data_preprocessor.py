"""CIFARDataPreprocessor: training augmentation on the batch, alternating flip, progressive
resize, Cutout, Mixup/CutMix label mixing."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.logging import MessageHub

import cifar_plugins  # noqa: F401
from cifar_plugins.models import CIFARDataPreprocessor
from cifar_plugins.models.utils.batch_augment import alternating_flip


def test_data_preprocessor_train_and_test():
    pre = CIFARDataPreprocessor(mean=[0, 0, 0], std=[1, 1, 1], num_classes=10, channels_last=True)
    imgs = [torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8) for _ in range(4)]
    test = pre({'inputs': imgs, 'data_samples': None}, training=False)['inputs']
    torch.testing.assert_close(test, torch.stack(imgs).float())  # no augmentation at test
    assert test.is_contiguous(memory_format=torch.channels_last)
    train = pre({'inputs': torch.stack(imgs), 'data_samples': None}, training=True)['inputs']
    assert train.shape == (4, 3, 32, 32) and train.dtype == torch.float32


def test_preprocessor_alternating_flip_follows_the_epoch():
    pre = CIFARDataPreprocessor(mean=[0, 0, 0], std=[1, 1, 1], crop_padding=0,
                                flip_mode='alternate')
    x = torch.arange(2 * 3 * 4 * 5, dtype=torch.uint8).reshape(2, 3, 4, 5)
    hub = MessageHub.get_current_instance()
    outs = []
    for epoch in (0, 1, 2):
        hub.update_info('epoch', epoch)
        outs.append(pre(dict(inputs=x, sample_idx=torch.tensor([10, 11])), training=True)['inputs'])
    want0 = alternating_flip(torch.tensor([10, 11]), 0)
    for i in range(2):
        assert torch.equal(outs[0][i], x[i].float().flip(-1) if want0[i] else x[i].float())
        assert torch.equal(outs[1][i], outs[0][i].flip(-1))
        assert torch.equal(outs[2][i], outs[0][i])
    with pytest.raises(ValueError, match='dataset indices'):
        pre(dict(inputs=x), training=True)


def test_progressive_resize_follows_the_epoch_and_spares_evaluation():
    pre = CIFARDataPreprocessor(mean=[0, 0, 0], std=[1, 1, 1], crop_padding=0, flip_prob=0,
                                train_size_schedule=((0, 16), (2, 24), (3, 32)))
    x = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    hub = MessageHub.get_current_instance()
    sides = []
    for epoch in range(5):
        hub.update_info('epoch', epoch)
        sides.append(pre(dict(inputs=x), training=True)['inputs'].shape[-2:])
        assert pre(dict(inputs=x), training=False)['inputs'].shape[-2:] == (32, 32)
    assert sides == [(16, 16), (16, 16), (24, 24), (32, 32), (32, 32)]
    # antialiased: a pixel checkerboard (far above the new Nyquist limit) becomes flat grey
    # at 24 px, where plain bilinear resampling aliases it into a strong pattern
    hub.update_info('epoch', 2)
    board = ((torch.arange(32)[:, None] + torch.arange(32)) % 2 * 255).to(torch.uint8)
    small = pre(dict(inputs=board.expand(2, 3, 32, 32)), training=True)['inputs']
    aliased = F.interpolate(board.expand(2, 3, 32, 32).float(), size=(24, 24), mode='bilinear',
                            align_corners=False)
    inner = (Ellipsis, slice(2, -2), slice(2, -2))
    assert small[inner].std() < 10 and aliased[inner].std() > 30  # measured: 6.6 vs 39.7
    assert abs(small[inner].mean() - 127.5) < 3
    for bad in (((1, 24), (0, 32)), ((0, 0),), ((0, 24, 1),), ()):
        with pytest.raises(ValueError, match='train_size_schedule'):
            CIFARDataPreprocessor(train_size_schedule=bad)


def test_progressive_resize_warns_once_if_it_never_returns_to_full_size(monkeypatch):
    from cifar_plugins.models.utils import data_preprocessor
    warnings = []
    monkeypatch.setattr(data_preprocessor, 'print_log', lambda msg, **kw: warnings.append(msg))
    pre = CIFARDataPreprocessor(mean=[0, 0, 0], std=[1, 1, 1], crop_padding=0, flip_prob=0,
                                train_size_schedule=((0, 16), (2, 24)))
    x = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    hub = MessageHub.get_current_instance()
    for epoch in (0, 1):  # an early stage at 16 px is intended, not a mistake
        hub.update_info('epoch', epoch)
        pre(dict(inputs=x), training=True)
    assert warnings == []
    for epoch in (2, 3):
        hub.update_info('epoch', epoch)
        pre(dict(inputs=x), training=True)
    assert len(warnings) == 1
    assert 'ends at 24 px' in warnings[0] and '(epoch, 32)' in warnings[0]


@pytest.mark.parametrize('augment', ['Mixup', 'CutMix'])
def test_mixup_cutmix_mix_labels_as_they_mix_pixels(augment):
    n = 10
    torch.manual_seed(1)
    pre = CIFARDataPreprocessor(
        mean=[0, 0, 0], std=[1, 1, 1], crop_padding=0, flip_prob=0, num_classes=n,
        batch_augments=dict(augments=[dict(type=augment, alpha=1.0)]))
    from mmpretrain.structures import DataSample
    # image i is constant i: a mixed pixel tells which images it came from
    x = torch.arange(n, dtype=torch.uint8).view(n, 1, 1, 1).expand(n, 3, 8, 8).contiguous()
    samples = [DataSample().set_gt_label(i) for i in range(n)]
    out = pre(dict(inputs=x, data_samples=samples), training=True)
    scores = torch.stack([s.gt_score for s in out['data_samples']])
    assert torch.allclose(scores.sum(1), torch.ones(n))
    for i in range(n):
        pixels = out['inputs'][i].flatten()
        if augment == 'Mixup':  # lam * i + (1 - lam) * j everywhere
            assert torch.allclose(pixels, pixels[0].expand_as(pixels))
            j = int(scores[i].topk(2).indices[scores[i].topk(2).indices != i][0]) \
                if scores[i].max() < 1 else i
            lam = scores[i, i]
            assert torch.allclose(pixels[0], lam * i + (1 - lam) * j, atol=1e-4)
        else:  # CutMix: the label weight of each source = its share of the pixels
            share = torch.bincount(pixels.long(), minlength=n).float() / pixels.numel()
            assert torch.allclose(share, scores[i], atol=1e-4)


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


@pytest.mark.parametrize('to_rgb', [False, True])
def test_preprocessor_cutout_hole_is_zero_after_normalisation(to_rgb):
    mean, std = [100.5, 110.0, 120.25], [2.0, 4.0, 8.0]
    pre = CIFARDataPreprocessor(mean=mean, std=std, to_rgb=to_rgb, num_classes=10,
                                crop_padding=0, flip_prob=0, cutout_size=8)
    x = torch.randint(0, 256, (16, 3, 32, 32), dtype=torch.uint8)
    expected = x.float().flip(1) if to_rgb else x.float()
    expected = (expected - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    out = pre({'inputs': x, 'data_samples': None}, training=True)['inputs']
    hole = (out == 0).all(1)
    for i in range(16):
        rows, cols = zero_box(hole[i])
        assert len(rows) <= 8 and len(cols) <= 8
    keep = ~hole[:, None].expand_as(out)
    torch.testing.assert_close(out[keep], expected[keep])
    test = pre({'inputs': x, 'data_samples': None}, training=False)['inputs']
    torch.testing.assert_close(test, expected)  # no Cutout at test time
    with pytest.raises(ValueError, match='cutout_size must be >= 0'):
        CIFARDataPreprocessor(cutout_size=-2)
