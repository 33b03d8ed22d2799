"""Batch-level test-time augmentation (BatchFlipTranslateTTA) and tools/test.py --tta."""
import pytest
import torch
import torch.nn.functional as F
from mmpretrain.structures import DataSample

import cifar_plugins  # noqa: F401  (registers the plugin)
from cifar_plugins.models.tta import BatchFlipTranslateTTA
from cifar_plugins.models.tta.batch_tta import flip_translate_views
from cifar_plugins.registry import MODELS

PREPROC = dict(type='CIFARDataPreprocessor', num_classes=10, mean=[125.3, 123.0, 113.9],
               std=[51.6, 50.8, 51.3], to_rgb=False, channels_last=True)


def tiny_classifier(seed=0):
    torch.manual_seed(seed)
    model = MODELS.build(dict(
        type='ImageClassifier',
        backbone=dict(type='FastCIFARNet', widths=(8, 16, 16), stem_channels=8),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=10, in_channels=16),
        data_preprocessor=PREPROC))
    return calibrate(model, batch(n=16, seed=seed + 100))


def calibrate(model, data):
    """Random weights, but BN statistics of real activations (so the signal survives
    the depth) and a head with unit-variance weights (mmpretrain's std=0.01 flattens
    the logits): the views then visibly change the predictions."""
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    torch.nn.init.normal_(model.head.fc.weight, std=1.0)
    with torch.no_grad():
        model.train()
        model(model.data_preprocessor(data, False)['inputs'], mode='tensor')
    return model.eval()


def batch(n=6, seed=1):
    """Images with large-scale structure (noise would average out in the pooling)."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 3, 4, 4, generator=g) * 255
    images = F.interpolate(coarse, size=(32, 32), mode='bilinear', align_corners=False)
    return dict(inputs=images.round().to(torch.uint8),
                data_samples=[DataSample().set_gt_label(i % 10) for i in range(n)])


def shift_by_hand(x, s):
    """x translated by s pixels along both axes (out[i, j] = x[i - s, j - s]), reflected."""
    h, w = x.shape[-2:]
    rows = [abs(i - s) if i - s < h else 2 * (h - 1) - (i - s) for i in range(h)]
    cols = [abs(j - s) if j - s < w else 2 * (w - 1) - (j - s) for j in range(w)]
    return x[..., rows, :][..., cols]


def test_views_levels_counts_and_weights():
    x = torch.rand(2, 3, 8, 8)
    for level, count in ((0, 1), (1, 2), (2, 6)):
        views = flip_translate_views(x, level=level)
        assert len(views) == count
        assert sum(w for _, w in views) == pytest.approx(1.0)
    assert [w for _, w in flip_translate_views(x, level=2)] == \
        [0.25, 0.25, 0.125, 0.125, 0.125, 0.125]  # airbench94
    assert [w for _, w in flip_translate_views(x, level=1)] == [0.5, 0.5]
    assert [w for _, w in flip_translate_views(x, 2, translate_weight=0.2)] == \
        pytest.approx([0.4, 0.4, 0.05, 0.05, 0.05, 0.05])
    for bad in (dict(level=3), dict(level=2, translate_weight=1.5), dict(level=2, shift=0)):
        with pytest.raises(ValueError):
            flip_translate_views(x, **bad)
    with pytest.raises(ValueError):
        BatchFlipTranslateTTA(tiny_classifier(), merge='mean')


def test_translations_are_one_pixel_reflect_padded_shifts():
    x = torch.arange(16.).reshape(1, 1, 4, 4)
    views = [v for v, _ in flip_translate_views(x, level=2)]
    assert torch.equal(views[0], x) and torch.equal(views[1], x.flip(-1))
    # written out by hand: reflect padding repeats row/column 1 (resp. 2) beyond the border
    down_right = torch.tensor([[5., 4, 5, 6], [1, 0, 1, 2], [5, 4, 5, 6], [9, 8, 9, 10]])
    up_left = torch.tensor([[5., 6, 7, 6], [9, 10, 11, 10], [13, 14, 15, 14], [9, 10, 11, 10]])
    assert torch.equal(views[2][0, 0], down_right)
    assert torch.equal(views[3][0, 0], down_right.flip(-1))
    assert torch.equal(views[4][0, 0], up_left)
    assert torch.equal(views[5][0, 0], up_left.flip(-1))
    # the interior really is the image moved by +1 / -1 pixel
    assert torch.equal(views[2][0, 0, 1:, 1:], x[0, 0, :-1, :-1])
    assert torch.equal(views[4][0, 0, :-1, :-1], x[0, 0, 1:, 1:])
    y = torch.rand(2, 3, 7, 9)  # non-square, and the same with an independent reference
    got = [v for v, _ in flip_translate_views(y, level=2)]
    assert torch.equal(got[2], shift_by_hand(y, 1)) and torch.equal(got[4], shift_by_hand(y, -1))
    assert torch.equal(flip_translate_views(y, 2, shift=2)[2][0], shift_by_hand(y, 2))


def test_tta_equals_hand_weighted_average_of_view_logits():
    model = tiny_classifier()
    tta = BatchFlipTranslateTTA(model, level=2).eval()
    data = batch()
    with torch.no_grad():
        x = model.data_preprocessor(dict(data), False)['inputs']
        logit = lambda v: model.head(model.neck(model.backbone(v)))  # noqa: E731
        pad = F.pad(x, (1, 1, 1, 1), mode='reflect')
        a, b = pad[:, :, 0:32, 0:32], pad[:, :, 2:34, 2:34]
        mirror = 0.5 * (logit(x) + logit(x.flip(3)))
        translated = 0.25 * (logit(a) + logit(a.flip(3)) + logit(b) + logit(b.flip(3)))
        expected = 0.5 * mirror + 0.5 * translated
        plain = logit(x)
        assert (expected - plain).abs().max() > 1e-3  # the views matter for this model
        out = tta.test_step(batch())
        merged = tta(x, mode='tensor')
    torch.testing.assert_close(merged, expected, atol=1e-6, rtol=0)
    scores = torch.stack([s.pred_score for s in out])
    torch.testing.assert_close(scores, F.softmax(expected, 1), atol=1e-6, rtol=0)
    assert [int(s.pred_label) for s in out] == expected.argmax(1).tolist()
    assert [int(s.gt_label) for s in out] == [i % 10 for i in range(6)]
    with torch.no_grad():
        level1 = BatchFlipTranslateTTA(model, level=1)(x, mode='tensor')
        level0 = BatchFlipTranslateTTA(model, level=0).test_step(batch())
        by_scores = BatchFlipTranslateTTA(model, merge='scores').test_step(batch())
        own = model.test_step(batch())  # the classifier's own predictions
    torch.testing.assert_close(level1, mirror, atol=1e-6, rtol=0)
    for mine, ref in zip(level0, own):
        torch.testing.assert_close(mine.pred_score, ref.pred_score, atol=1e-6, rtol=0)
        assert int(mine.pred_label) == int(ref.pred_label)
    avg_scores = 0.25 * (F.softmax(logit(x), 1) + F.softmax(logit(x.flip(3)), 1)) + 0.125 * sum(
        F.softmax(logit(v), 1) for v in (a, a.flip(3), b, b.flip(3)))
    torch.testing.assert_close(torch.stack([s.pred_score for s in by_scores]), avg_scores,
                               atol=1e-6, rtol=0)


def test_one_forward_per_view_and_one_preprocessing():
    model = tiny_classifier()
    calls = []
    model.backbone.register_forward_hook(lambda m, i, o: calls.append(i[0].shape))
    preprocess = model.data_preprocessor.forward
    pre_calls = []
    model.data_preprocessor.forward = lambda d, t=False: pre_calls.append(t) or preprocess(d, t)
    for level, count in ((0, 1), (1, 2), (2, 6)):
        calls.clear()
        pre_calls.clear()
        with torch.no_grad():
            BatchFlipTranslateTTA(model, level=level).test_step(batch(n=4))
        assert len(calls) == count and all(s == (4, 3, 32, 32) for s in calls)
        assert pre_calls == [False]


def test_config_dict_build_and_checkpoint_keys_load():
    tta = MODELS.build(dict(type='BatchFlipTranslateTTA', level=1, module=dict(
        type='ImageClassifier', backbone=dict(type='FastCIFARNet', widths=(8, 8, 8),
                                              stem_channels=8),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=10, in_channels=8)),
        data_preprocessor=PREPROC))
    assert type(tta.module.data_preprocessor).__name__ == 'CIFARDataPreprocessor'
    from mmengine.runner.checkpoint import load_state_dict
    src = tiny_classifier(seed=3)
    same = BatchFlipTranslateTTA(tiny_classifier(seed=4))
    assert not torch.equal(same.module.head.fc.weight, src.head.fc.weight)
    load_state_dict(same, src.state_dict(), strict=True)  # plain classifier keys, no 'module.'
    assert torch.equal(same.module.head.fc.weight, src.head.fc.weight)
    with pytest.raises(TypeError):
        BatchFlipTranslateTTA(MODELS.build(dict(type='ImageClassifier', backbone=dict(
            type='FastCIFARNet', widths=(8, 8, 8), stem_channels=8))))  # no head
