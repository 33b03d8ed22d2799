"""tools/test.py: accuracy of a checkpoint, hostile checkpoints refused, --tta (also
through mim test), and the same TTA as mmpretrain's tools/test.py."""
import copy
import glob
import importlib.util
import os
import os.path as osp
import pickle
import re
import shutil
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmpretrain.structures import DataSample

import cifar_plugins  # noqa: F401  (allowlists mmengine checkpoint types)
from cifar_plugins.models.tta import DEFAULT_TTA_MODEL
from cifar_plugins.registry import MODELS
from helpers import REPO, STUDIES, python_tool, run_tool, tiny_options

QUICK = 'configs/fastcifarnet_per_sample_cifar10.py'


def test_test_tool_reports_accuracy(trained, cifar10_root):
    out = python_tool('tools/test.py', QUICK, osp.join(trained, 'epoch_2.pth'),
                      '--work-dir', osp.join(trained, 'test'), '--cfg-options',
                      *tiny_options(cifar10_root))
    assert out.returncode == 0, out.stderr[-3000:]
    top1 = float(re.search(r'accuracy/top1: ([\d.]+)', out.stdout).group(1))
    assert 0.0 <= top1 <= 100.0


def test_hostile_checkpoint_refused_by_test_tool(tmp_path, cifar10_root):
    marker = tmp_path / 'pwned'
    evil = tmp_path / 'evil.pth'
    code = ('import torch, os\n'
            'class E:\n'
            '    def __reduce__(self):\n'
            f'        return (os.system, ("touch {marker}",))\n'
            f'torch.save({{"state_dict": {{}}, "meta": E()}}, r"{evil}")\n')
    assert run_tool(['python', '-c', code]).returncode == 0
    out = python_tool('tools/test.py', QUICK, str(evil), '--work-dir', str(tmp_path / 'w'),
                      '--cfg-options', *tiny_options(cifar10_root))
    assert out.returncode == 1
    assert 'not on the safe list' in out.stderr and 'Traceback' not in out.stderr
    assert not marker.exists()


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


ALL_CONFIGS = sorted(
    p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                         recursive=True) if '_base_' not in p and STUDIES not in p)


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
