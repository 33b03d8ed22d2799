"""Batch-level test-time augmentation (BatchFlipTranslateTTA) and tools/test.py --tta."""
import copy
import glob
import importlib.util
import os
import os.path as osp
import pickle
import shutil
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmpretrain.structures import DataSample

import cifar_plugins  # noqa: F401  (registers the plugin)
from cifar_plugins.models.tta import DEFAULT_TTA_MODEL, BatchFlipTranslateTTA
from cifar_plugins.models.tta.batch_tta import flip_translate_views
from cifar_plugins.registry import MODELS

from helpers import REPO, python_tool, run_tool, tiny_options

QUICK = 'configs/fastcifarnet_per_sample_cifar10.py'
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


# ---------------------------------------------------------------- the tools
def load_tool():
    spec = importlib.util.spec_from_file_location('cifar_tools_test', osp.join(REPO, 'tools',
                                                                               'test.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tool_options_tta_default_and_amp_choice(monkeypatch):
    tool = load_tool()
    monkeypatch.setattr('sys.argv', ['test.py', 'c.py', 'c.pth', '--out-item', 'pred'])
    with pytest.raises(SystemExit):  # --out-item needs --out
        tool.parse_args()
    args = tool.parse_args(['c.py', 'c.pth', '--work-dir', 'w', '--out', 'o.pkl', '--out-item',
                            'metrics', '--cfg-options', 'a=1', '--show-dir', 'v', '--show',
                            '--interval', '3', '--wait-time', '1', '--no-pin-memory', '--tta',
                            '--launcher', 'none', '--amp', '--local_rank', '0'])
    assert (args.out_item, args.interval, args.tta, args.amp) == ('metrics', 3, True, True)

    cfg = Config.fromfile(osp.join(REPO, QUICK))
    cfg = Config({k: v for k, v in cfg.to_dict().items()  # a config without TTA keys
                  if k not in ('tta_model', 'tta_pipeline')})
    pipeline = cfg.test_dataloader.dataset.pipeline
    tool.apply_tta(cfg)
    assert cfg.model.type == 'BatchFlipTranslateTTA' and cfg.model.module.type == 'ImageClassifier'
    assert cfg.test_dataloader.dataset.pipeline == pipeline
    cfg = Config.fromfile(osp.join(REPO, QUICK))
    cfg.merge_from_dict({'tta_model.level': 1})
    tool.apply_tta(cfg)
    assert cfg.model.level == 1 and cfg.test_dataloader.dataset.pipeline == cfg.tta_pipeline

    from cifar_plugins.engine.optimizers import precision
    monkeypatch.setattr(precision, 'cpu_bf16_supported', lambda: False)
    cfg = Config.fromfile(osp.join(REPO, QUICK))
    message = tool.apply_amp(cfg, 'cpu')
    assert 'float32' in message and not (cfg.get('test_cfg') or {}).get('fp16')
    monkeypatch.setattr(precision, 'cpu_bf16_supported', lambda: True)
    message = tool.apply_amp(cfg, 'cpu')
    assert 'bfloat16' in message and cfg.test_cfg.fp16 is True


@pytest.fixture(scope='module')
def checkpoint_and_expected(tmp_path_factory, cifar10_root):
    """A randomly initialised quickstart model saved as a checkpoint, and the TTA
    predictions on the synthetic test split computed here in-process."""
    cfg = Config.fromfile(osp.join(REPO, QUICK))
    torch.manual_seed(0)
    tta = MODELS.build(dict(cfg.tta_model, module=cfg.model.to_dict(),
                            data_preprocessor=cfg.data_preprocessor.to_dict())).eval()
    with open(osp.join(cifar10_root, 'cifar-10-batches-py', 'test_batch'), 'rb') as f:
        entry = pickle.load(f, encoding='latin1')
    images = torch.from_numpy(np.asarray(entry['data']).reshape(-1, 3, 32, 32))

    def samples():
        return [DataSample().set_gt_label(int(y)) for y in entry['labels']]

    calibrate(tta.module, dict(inputs=images, data_samples=samples()))
    with torch.no_grad():
        tta_out = tta.test_step(dict(inputs=images, data_samples=samples()))
        plain = tta.module.test_step(dict(inputs=images, data_samples=samples()))
    path = str(tmp_path_factory.mktemp('tta_ckpt') / 'random.pth')
    torch.save({'meta': {}, 'state_dict': tta.module.state_dict()}, path)
    tta_scores = torch.stack([s.pred_score for s in tta_out])
    plain_scores = torch.stack([s.pred_score for s in plain])
    assert (tta_scores - plain_scores).abs().max() > 1e-4  # TTA changes these predictions
    return path, tta_scores


def dumped_scores(pkl):
    with open(pkl, 'rb') as f:
        preds = pickle.load(f)
    preds = sorted(preds, key=lambda p: p['sample_idx'])
    return torch.stack([torch.as_tensor(p['pred_score']) for p in preds])


def test_tools_test_tta_reports_accuracy_and_dumps_tta_predictions(
        tmp_path, cifar10_root, checkpoint_and_expected):
    ckpt, expected = checkpoint_and_expected
    pkl = str(tmp_path / 'preds.pkl')
    out = python_tool('tools/test.py', QUICK, ckpt, '--tta', '--work-dir', str(tmp_path / 'w'),
                      '--out', pkl, '--out-item', 'pred', '--cfg-options',
                      *tiny_options(cifar10_root))
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    assert 'accuracy/top1' in out.stdout
    scores = dumped_scores(pkl)
    assert scores.shape == expected.shape == (100, 10)
    torch.testing.assert_close(scores, expected, atol=1e-5, rtol=0)


def test_mim_test_tta(tmp_path, cifar10_root, checkpoint_and_expected):
    if shutil.which('mim', path=osp.dirname(sys.executable) + os.pathsep +
                    os.environ.get('PATH', '')) is None:
        pytest.skip('mim (openmim) is not installed')
    ckpt, expected = checkpoint_and_expected
    pkl = str(tmp_path / 'mim.pkl')
    out = run_tool(['mim', 'test', 'mmpretrain', QUICK, '--gpus', '0', '--checkpoint', ckpt,
                    '--tta', '--work-dir', str(tmp_path / 'w'), '--out', pkl,
                    '--cfg-options', *tiny_options(cifar10_root)])
    log = out.stdout + out.stderr
    if out.returncode != 0 and ('ConnectionError' in log or 'Max retries' in log):
        pytest.skip('mim needs network access here')
    assert out.returncode == 0, log[-3000:]
    assert 'accuracy/top1' in log
    torch.testing.assert_close(dumped_scores(pkl), expected, atol=1e-5, rtol=0)


# ----------------------------------- tools/test.py --tta == mmpretrain's --tta
ALL_CONFIGS = sorted(
    p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                         recursive=True) if '_base_' not in p)


def load_mmpretrain_tool():
    """mmpretrain's tools/test.py, as ``mim test mmpretrain`` runs it."""
    from mim.utils import get_installed_path
    path = osp.join(get_installed_path('mmpretrain'), '.mim', 'tools',
                    'test.py')
    spec = importlib.util.spec_from_file_location('mmpretrain_test', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def mmpretrain_tta_cfg(cfg, monkeypatch):
    """The config mmpretrain's tools/test.py tests with ``--tta``."""
    tool = load_mmpretrain_tool()
    monkeypatch.setenv('LOCAL_RANK', '0')
    monkeypatch.setattr('sys.argv', ['test.py', 'c.py', 'c.pth', '--tta'])
    return tool.merge_args(cfg, tool.parse_args())


def dataset_pipeline(dataset):
    """The pipeline of a test dataset, or of the dataset it wraps."""
    if 'pipeline' in dataset:
        return dataset.pipeline
    return dataset.dataset.pipeline


def test_default_runtime_tta_model_is_the_tools_default():
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', '_base_', 'default_runtime.py'))
    assert cfg.tta_model == DEFAULT_TTA_MODEL


@pytest.mark.parametrize('path', ALL_CONFIGS,
                         ids=lambda p: osp.relpath(p, REPO))
def test_both_test_tools_build_the_same_tta(path, monkeypatch):
    cfg = Config.fromfile(path)
    if 'type' not in cfg.get('model', {}):
        pytest.skip('a fragment merged into other configs, not a config')
    assert 'tta_model' in cfg and 'tta_pipeline' in cfg
    if cfg.tta_model.type == 'BatchFlipTranslateTTA':  # one view per image
        assert cfg.tta_pipeline == dataset_pipeline(
            cfg.test_dataloader.dataset)
    theirs = mmpretrain_tta_cfg(copy.deepcopy(cfg), monkeypatch)
    load_tool().apply_tta(cfg)
    assert cfg.model == theirs.model
    assert cfg.test_dataloader.dataset == theirs.test_dataloader.dataset
