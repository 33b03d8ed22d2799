"""The study runner: study files, run configs, resume and records."""
import json
import os.path as osp

import pytest
from mmengine.config import Config

from cifar_plugins.analysis.study_records import (evaluate_run,
                                                  find_test_split,
                                                  load_records)
from cifar_plugins.apis.study import (load_study, plan_runs, run_config,
                                      run_dir, run_study, write_record)
from cifar_plugins.registry import MODELS
from helpers import REPO, python_tool

MODEL_STUDY = osp.join(REPO, 'configs', 'studies', 'cifar10_models_cpu.py')


# ------------------------------------------------------------ study files
def test_model_study_arms_and_seeds():
    study = load_study(MODEL_STUDY)
    seeds = {a.name: a.seeds for a in study.arms}
    assert study.baseline == 'resnet18' and study.scale() == 'cpu'
    assert seeds['resnet18'] == seeds['resnet18_ms'] == [0, 1, 2]
    assert all(len(seeds[a]) >= 2 for a in ('plain18', 'plain34', 'resnet34'))
    # seed by seed: every arm's seed 0 comes before any seed 1
    order = [(a.name, s) for a, s in plan_runs(study)]
    assert order[:len(study.arms)] == [(a.name, 0) for a in study.arms]


def resnet_cifar_params(width, blocks, classes=10):
    """Parameters of a CIFAR ResNet of BasicBlocks (He et al.): 3x3 stem,
    two 3x3 convs + 2 BN per block, a 1x1 conv + BN where a stage changes
    width, a linear head."""
    total = 27 * width + 2 * width  # stem conv + BN
    c_in = width
    for stage, count in enumerate(blocks):
        c = width * 2**stage
        for i in range(count):
            first = c_in if i == 0 else c
            total += 9 * first * c + 9 * c * c + 4 * c
            if i == 0 and first != c:
                total += first * c + 2 * c
        c_in = c
    return total + c_in * classes + classes


@pytest.mark.parametrize('arm,blocks,shortcut', [
    ('resnet18', (2, 2, 2, 2), True), ('resnet34', (3, 4, 6, 3), True),
    ('plain18', (2, 2, 2, 2), False), ('plain34', (3, 4, 6, 3), False)])
def test_cpu_scale_configs_build_at_width_16(arm, blocks, shortcut):
    study = load_study(MODEL_STUDY)
    cfg = run_config(study, study.arm(arm), 1, 'cpu')
    assert cfg.randomness.seed == 1
    assert cfg.model.backbone.base_channels == 16
    assert cfg.train_dataloader.dataset.type == 'InMemoryBatchDataset'
    assert cfg.train_cfg.max_epochs == 16 and cfg.train_cfg.val_interval == 1
    assert cfg.optim_wrapper.dtype == 'auto'
    assert cfg.model.head.loss.type == 'LabelSmoothLoss'
    assert cfg.tta_model.type == 'BatchFlipTranslateTTA'
    assert '_delete_' not in cfg.pretty_text
    model = MODELS.build(cfg.model)
    params = sum(p.numel() for p in model.parameters())
    expected = resnet_cifar_params(16, blocks)
    if not shortcut:  # no 1x1 projections (3 stage changes)
        expected -= sum(16 * 2**s * 16 * 2**(s + 1) + 2 * 16 * 2**(s + 1)
                        for s in range(3))
    assert params == expected
    # the paper scale trains the config as it is: width 64, 200 epochs
    paper = run_config(study, study.arm(arm), 0, 'paper')
    assert paper.model.backbone.get('base_channels', 64) == 64
    assert paper.train_cfg.max_epochs == 200


def test_fusion_ablation_arm_overrides_the_stages():
    study = load_study(MODEL_STUDY)
    cfg = run_config(study, study.arm('resnet18_ms_fuse2'), 0, 'cpu')
    assert cfg.model.backbone.type == 'ResNetMS'
    assert tuple(cfg.model.backbone.fuse_stages) == (2, )


def test_bad_study_files(tmp_path):
    base = osp.join(REPO, 'configs', 'resnet18_cifar10.py')
    cases = {
        'no_baseline.py': (f"arms = [dict(name='a', config='{base}')]\n",
                           ValueError, 'baseline'),
        'unknown.py': (f"baseline = 'b'\narms = [dict(name='a', "
                       f"config='{base}')]\n", ValueError, 'unknown arm'),
        'twice.py': (f"baseline = 'a'\narms = [dict(name='a', config='{base}'"
                     f"), dict(name='a', config='{base}')]\n", ValueError,
                     'unique'),
        'missing.py': ("baseline = 'a'\narms = [dict(name='a', "
                       "config='nope.py')]\n", FileNotFoundError, 'nope.py'),
    }
    for name, (text, error, words) in cases.items():
        path = tmp_path / name
        path.write_text(text)
        with pytest.raises(error, match=words):
            load_study(str(path))


def test_study_tool_reports_a_bad_study_in_one_line(tmp_path):
    path = tmp_path / 'bad.py'
    path.write_text("baseline = 'x'\narms = []\n")
    out = python_tool('tools/study.py', str(path), '--report-only')
    assert out.returncode == 1
    assert out.stderr.strip().splitlines()[-1].startswith('ERROR: ')


# ------------------------------------------------ resume and real records
def tiny_study(tmp_path, data_root, epochs):
    """A two-arm study of a width-4 ResNet18 on the synthetic data."""
    recipe = osp.join(REPO, 'configs', 'studies', 'recipes',
                      'cpu_scale_sgd.py')
    base = osp.join(REPO, 'configs', 'resnet18_cifar10.py')
    path = tmp_path / 'tiny_study.py'
    path.write_text(f"""
baseline = 'a'
seeds = [0]
_data = dict(dataset=dict(dataset=dict(data_root='{data_root}')))
scales = dict(cpu=dict(recipe='{recipe}', options=dict(
    model=dict(backbone=dict(stem_channels=4, base_channels=4),
               head=dict(in_channels=32)),
    train_dataloader=dict(batch_size=50, **_data),
    val_dataloader=dict(batch_size=50, **_data),
    test_dataloader=dict(batch_size=50, **_data),
    param_scheduler=[dict(type='ConstantLR', factor=1.0, by_epoch=True)],
    train_cfg=dict(max_epochs={epochs}),
    default_hooks=dict(logger=dict(interval=1)))))
arms = [dict(name='a', config='{base}'),
        dict(name='b', config='{base}',
             options=dict(model=dict(backbone=dict(depth=34))))]
""")
    return load_study(str(path))


def test_interrupted_study_resumes(tmp_path, cifar10_root):
    work, results = str(tmp_path / 'work'), str(tmp_path / 'results')
    evaluated = []

    def evaluate(cfg, work_dir, context):
        evaluated.append(context['arm'])
        return evaluate_run(cfg, work_dir, context, device='cpu')

    study = tiny_study(tmp_path, cifar10_root, epochs=2)
    assert run_study(study, 'cpu', work, results, evaluate, arms=['a']) == []
    # arm b stopped after its first epoch: train one epoch into its work dir
    (tmp_path / 'short').mkdir()
    short = tiny_study(tmp_path / 'short', cifar10_root, epochs=1)
    b_dir = run_dir(work, study, 'cpu', 'b', 0)
    cfg = run_config(short, short.arm('b'), 0, 'cpu')
    cfg.dump(str(tmp_path / 'b1.py'))
    out = python_tool('tools/train.py', str(tmp_path / 'b1.py'),
                      '--work-dir', b_dir)
    assert out.returncode == 0, out.stderr[-2000:]

    lines = []
    assert run_study(study, 'cpu', work, results, evaluate,
                     log=lines.append) == []
    assert evaluated == ['a', 'b']  # a was not trained or tested again
    assert any('a seed 0: recorded before, skipped' in x for x in lines)
    assert any('b seed 0: resuming' in x for x in lines)
    with open(osp.join(b_dir, 'study.log')) as f:
        assert 'resumed epoch: 1' in f.read()
    records = load_records(osp.join(results, study.name, 'cpu'))
    assert [(r['arm'], r['seed']) for r in records] == [('a', 0), ('b', 0)]
    b = records[1]
    assert [c['epoch'] for c in b['curves']] == [1, 2]
    assert b['test_images'] == 100 and b['top1_exact'] is None
    assert len(bytes.fromhex(b['correct_hex'])) == 100 // 8 + 1
    assert 0 <= b['top1_all'] <= 100 and b['params'] > records[0]['params']
    assert b['train_images_per_s'] > 0 and b['tta'] == 'BatchFlipTranslateTTA'
    assert find_test_split(cfg) == (cifar10_root, 'cifar10')


def test_records_are_json_and_atomic(tmp_path):
    path = str(tmp_path / 'runs' / 'a' / 'seed0.json')
    write_record(dict(arm='a', seed=0, curves=[]), path)
    assert json.load(open(path)) == dict(arm='a', seed=0, curves=[])
    assert sorted(p.name for p in (tmp_path / 'runs' / 'a').iterdir()) == [
        'seed0.json']


def test_config_of_a_run_is_a_normal_config(tmp_path):
    study = load_study(MODEL_STUDY)
    cfg = run_config(study, study.arm('resnet18_ms'), 2, 'cpu')
    cfg.dump(str(tmp_path / 'run.py'))
    again = Config.fromfile(str(tmp_path / 'run.py'))
    assert again.model.backbone.type == 'ResNetMS'
    assert again.randomness.seed == 2
