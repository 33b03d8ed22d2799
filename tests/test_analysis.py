"""Analysis tools: run logs, curves, results table, checkpoint evaluation, report."""
import csv
import json
import os
import os.path as osp
import pickle
import re
import runpy
import shutil
import sys

import numpy as np
import pytest
import torch
import yaml
from mmengine.config import Config
from PIL import Image

import cifar_plugins  # noqa: F401
from cifar_plugins.analysis import (Predictions, RunDirError, collect_results,
                                    find_checkpoint, find_runs, load_run, load_runs,
                                    model_complexity, plot_curves)
from cifar_plugins.analysis.metafile import write_metafile_results
from cifar_plugins.analysis.results import RESULT_COLUMNS, add_baseline_delta
from cifar_plugins.registry import MODELS
from helpers import REPO, python_tool
from tiny_runs import TRAINED_EPOCHS, train_row, trained_run, val_row, write_fake_run

MISTAKE_RED = np.array([207, 34, 46])  # '#cf222e'


@pytest.fixture(scope='module')
def run_dir(tmp_path_factory, cifar10_root):
    return trained_run(tmp_path_factory, cifar10_root)


@pytest.fixture(scope='module')
def fake_runs(tmp_path_factory, run_dir):
    """A work_dirs tree: a resumed run, a plain run in a subfolder, a test-only folder."""
    root = tmp_path_factory.mktemp('fake_work_dirs')
    config = osp.join(run_dir, 'fastcifarnet_per_sample_cifar10.py')
    first = [train_row(1, i + 1, loss) for i, loss in enumerate([2.0, 1.8, 1.6, 1.4])]
    first += [val_row(1, 30.0, 70.0, 2.5)]
    first += [train_row(2, i + 5, loss) for i, loss in enumerate([1.2, 1.0, 0.8, 0.6])]
    first += [val_row(2, 40.0, 80.0, 2.0)]
    # resumed from the epoch-1 checkpoint: epoch 2 is logged again and wins
    second = [train_row(2, i + 5, loss) for i, loss in enumerate([1.1, 0.9, 0.7, 0.5])]
    second += [val_row(2, 45.0, 85.0, 1.9)]
    second += [train_row(3, i + 9, 0.5) for i in range(4)] + [val_row(3, 44.0, 90.0, 1.8)]
    test_only = [{'accuracy/top1': 99.0, 'step': 0}]
    resumed = write_fake_run(str(root / 'resumed'), [
        ('20240101_100000', first, ('2024/01/01 10:00:00', '2024/01/01 10:10:00')),
        ('20240101_120000', second, ('2024/01/01 12:00:00', '2024/01/01 12:05:30')),
        ('20240101_130000', test_only, ('2024/01/01 13:00:00', '2024/01/01 14:00:00')),
    ], config_src=config, config_name='fake_cfg')
    with open(osp.join(resumed, '20240101_120000', 'vis_data', 'scalars.json'), 'a') as f:
        f.write('{"loss": 0.1, "epoch": 3, "it')  # cut short by a killed run
    plain = write_fake_run(str(root / 'group' / 'plain'), [
        ('20240102_100000', [train_row(1, 1, 2.2), val_row(1, 20.0, 60.0, 2.4),
                             train_row(2, 2, 2.1), val_row(2, 25.0, 65.0, 2.3)],
         ('2024/01/02 10:00:00', '2024/01/02 10:01:00'))], config_src=config)
    write_fake_run(str(root / 'test_only'), [
        ('20240103_100000', test_only, ('2024/01/03 10:00:00', '2024/01/03 10:00:05'))])
    return dict(root=str(root), resumed=resumed, plain=plain)


def png(path):
    with Image.open(path) as img:
        return np.asarray(img.convert('RGB'))


def count_color(image, rgb, tol=12):
    return int((np.abs(image.astype(int) - np.asarray(rgb)).max(-1) <= tol).sum())


def read_csv(path):
    with open(path, newline='') as f:
        return list(csv.DictReader(f))


def markdown_rows(text):
    """Cells of the rows of the first markdown table in ``text`` (header included)."""
    lines = []
    for line in text.splitlines():
        if line.startswith('|'):
            lines.append(line)
        elif lines:
            break
    rows = [[c.strip() for c in ln.strip('|').split('|')] for ln in lines]
    return [rows[0]] + rows[2:]  # skip the alignment row


def test_load_run_merges_resumed_sessions(fake_runs):
    run = load_run(fake_runs['resumed'])
    assert [e.epoch for e in run.epochs] == [1, 2, 3]
    assert [e.train_loss for e in run.epochs] == pytest.approx([1.7, 0.8, 0.5])
    assert [e.val_loss for e in run.epochs] == pytest.approx([2.5, 1.9, 1.8])
    assert [e.val_error for e in run.epochs] == pytest.approx([70.0, 55.0, 56.0])
    assert (run.best.epoch, run.best.top1, run.best.top5) == (2, 45.0, 85.0)
    assert (run.last.epoch, run.last.top1, run.last.top5) == (3, 44.0, 90.0)
    assert run.wall_time == 600 + 330  # the test-only session is not training time
    assert run.config_name == 'fake_cfg' and run.trained_epochs == 3


def test_load_run_of_a_real_training(run_dir):
    run = load_run(run_dir)
    with open(sorted(run.sessions)[-1] + '/vis_data/scalars.json') as f:
        rows = [json.loads(line) for line in f]
    val = [r for r in rows if 'accuracy/top1' in r]
    assert [e.epoch for e in run.epochs] == list(range(1, TRAINED_EPOCHS + 1))
    assert [e.top1 for e in run.epochs] == [r['accuracy/top1'] for r in val]
    assert [e.val_loss for e in run.epochs] == [r['val/cross_entropy'] for r in val]
    epoch1 = [r['loss'] for r in rows if r.get('epoch') == 1 and 'loss' in r]
    assert run.epochs[0].train_loss == pytest.approx(sum(epoch1) / len(epoch1))
    assert run.config_name == 'fastcifarnet_per_sample_cifar10'
    assert run.wall_time > 0
    assert find_checkpoint(run_dir, 'last') == osp.join(run_dir, f'epoch_{TRAINED_EPOCHS}.pth')
    # the quickstart saves no best checkpoint: 'best' falls back to the last one
    assert find_checkpoint(run_dir, 'best') == find_checkpoint(run_dir, 'last')


def test_find_runs_and_bad_run_dirs(fake_runs, tmp_path):
    assert find_runs(fake_runs['root']) == [fake_runs['plain'], fake_runs['resumed']]
    with pytest.raises(RunDirError, match='not an mmengine run directory'):
        load_run(str(tmp_path))
    with pytest.raises(RunDirError, match='No training runs'):
        collect_results([str(tmp_path)])
    with pytest.raises(ValueError, match='one label per run'):
        load_runs([fake_runs['plain']], labels=['a', 'b'])


def test_curves_figures_and_tables(fake_runs, tmp_path):
    runs = load_runs([fake_runs['resumed'], fake_runs['plain']], labels=['Res', 'Plain'])
    paths = plot_curves(runs, str(tmp_path))
    for key in ('loss', 'val_error'):
        image = png(paths[key])
        assert image.shape == (450, 700, 3)
        assert count_color(image, (31, 119, 180)) > 100  # run 1 line (matplotlib C0)
        assert count_color(image, (255, 127, 14)) > 100  # run 2 line (C1)
    rows = read_csv(paths['csv'])
    assert [(r['run'], int(r['epoch'])) for r in rows] == [
        ('Res', 1), ('Res', 2), ('Res', 3), ('Plain', 1), ('Plain', 2)]
    assert float(rows[1]['train_loss']) == pytest.approx(0.8)
    assert float(rows[1]['val_error']) == pytest.approx(55.0)
    assert float(rows[4]['val_loss']) == pytest.approx(2.3)
    with open(paths['markdown']) as f:
        table = markdown_rows(f.read())
    assert table[0][0] == 'run' and [r[0] for r in table[1:]] == ['Res', 'Plain']
    assert table[1][table[0].index('best_epoch')] == '2'


def macs_by_hand(model, size):
    """Conv and linear multiply-accumulates of one forward pass."""
    total = [0]

    def hook(module, inputs, output):
        if isinstance(module, torch.nn.Conv2d):
            k = module.kernel_size[0] * module.kernel_size[1]
            total[0] += output.numel() * module.in_channels // module.groups * k
        else:
            total[0] += module.in_features * module.out_features
    for m in model.modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
            m.register_forward_hook(hook)
    with torch.no_grad():
        model(torch.zeros(1, 3, size, size), mode='tensor')
    return total[0]


@pytest.mark.parametrize('config', ['fastcifarnet_per_sample_cifar10.py',
                                    'resnet18_cifar10.py'])
def test_model_complexity_matches_counts_by_hand(config):
    cfg = Config.fromfile(osp.join(REPO, 'configs', config))
    stats = model_complexity(cfg)
    model = MODELS.build(cfg.model).eval()
    assert stats['params'] == sum(p.numel() for p in model.parameters())
    # conv/linear MACs by hand; BN and pooling add well under 1%
    assert stats['macs'] == pytest.approx(macs_by_hand(model, 32), rel=0.01)
    assert stats['gmacs'] == pytest.approx(stats['macs'] / 1e9)
    if config.startswith('resnet18'):  # the CIFAR ResNet18: 11.17M params, 0.56 GMACs
        assert stats['params'] == 11173962 and 0.55 < stats['gmacs'] < 0.57


def test_attention_macs_are_counted():
    from mmengine.analysis import FlopAnalyzer

    from cifar_plugins.analysis.complexity import sdpa_macs

    class Attention(torch.nn.Module):
        def forward(self, q, k, v):
            return torch.nn.functional.scaled_dot_product_attention(q, k, v)
    q, k, v = torch.zeros(2, 3, 5, 8), torch.zeros(2, 3, 7, 8), torch.zeros(2, 3, 7, 4)
    analyzer = FlopAnalyzer(Attention(), (q, k, v))
    analyzer.set_op_handle('aten::scaled_dot_product_attention', sdpa_macs)
    analyzer.unsupported_ops_warnings(False)
    assert analyzer.total() == 2 * 3 * (5 * 7 * 8 + 5 * 7 * 4)  # QK^T + AV


def test_results_survive_a_config_that_no_longer_builds(fake_runs, tmp_path):
    run_dir = tmp_path / 'broken'
    shutil.copytree(fake_runs['plain'], run_dir)
    for cfg_path in run_dir.rglob('*.py'):
        cfg_path.write_text(cfg_path.read_text().replace("'FastCIFARNet'", "'NoSuchNet'"))
    with pytest.warns(UserWarning, match='params/GMACs left empty'):
        rows = collect_results([str(run_dir)])
    assert rows[0]['best_top1'] == 25.0 and rows[0].get('params_m') is None


def test_collect_results_table(fake_runs, run_dir, tmp_path):
    work_dirs = tmp_path / 'work_dirs'
    shutil.copytree(fake_runs['root'], work_dirs)
    shutil.copytree(run_dir, work_dirs / 'quick', ignore=shutil.ignore_patterns('*.pth'))
    argv = ['collect_results.py', str(work_dirs), '--out', str(tmp_path / 'out' / 'res.md')]
    run_cli('tools/analysis/collect_results.py', argv)
    rows = read_csv(tmp_path / 'out' / 'res.csv')
    assert list(rows[0]) == RESULT_COLUMNS
    assert [r['run'] for r in rows] == ['group/plain', 'quick', 'resumed']
    by_name = {r['run']: r for r in rows}
    resumed = by_name['resumed']
    assert (resumed['epochs'], resumed['best_top1'], resumed['best_epoch'],
            resumed['last_top1'], resumed['best_top5'], resumed['last_top5']) == (
        '3', '45.0000', '2', '44.0000', '85.0000', '90.0000')
    assert (resumed['config'], resumed['wall_time'], resumed['wall_time_s']) == (
        'fake_cfg', '0:15:30', '930')
    quick = by_name['quick']
    logged = load_run(run_dir).last
    assert float(quick['last_top1']) == pytest.approx(logged.top1, abs=1e-4)
    assert (quick['epochs'], quick['max_epochs'], quick['dataset']) == (
        str(TRAINED_EPOCHS), str(TRAINED_EPOCHS), 'VerifiedCIFAR10')
    cfg = Config.fromfile(
        osp.join(run_dir, 'fastcifarnet_per_sample_cifar10.py'))
    params = sum(p.numel() for p in MODELS.build(cfg.model).parameters())
    assert float(quick['params_m']) == pytest.approx(params / 1e6, abs=1e-4)
    with open(tmp_path / 'out' / 'res.md') as f:
        table = markdown_rows(f.read())
    assert len(table) == 4 and all(len(r) == len(table[0]) for r in table)
    assert table[0][:3] == ['run', 'config', 'dataset'] and 'GMACs' in table[0]
    assert table[3][table[0].index('wall time')] == '0:15:30'


def run_cli(script, argv):
    """Run a tool in this process (as ``python script ...`` would), without the
    few seconds of a fresh interpreter."""
    old = sys.argv
    sys.argv = argv
    try:
        runpy.run_path(osp.join(REPO, script), run_name='__main__')
    finally:
        sys.argv = old


@pytest.fixture(scope='module')
def evaluation(run_dir, tmp_path_factory):
    out_dir = str(tmp_path_factory.mktemp('eval'))
    ckpt = osp.join(run_dir, f'epoch_{TRAINED_EPOCHS}.pth')
    run_cli('tools/analysis/eval_checkpoint.py',
            ['eval_checkpoint.py', ckpt, '--out-dir', out_dir, '--device', 'cpu'])
    with open(osp.join(out_dir, 'eval_summary.json')) as f:
        return json.load(f)


def fixture_labels(data_root):
    with open(osp.join(data_root, 'cifar-10-batches-py', 'test_batch'), 'rb') as f:
        return np.asarray(pickle.load(f)['labels'])


def test_evaluation_agrees_with_training_log(evaluation, run_dir):
    logged = load_run(run_dir).last
    assert evaluation['epoch'] == TRAINED_EPOCHS and evaluation['images'] == 100
    assert evaluation['top1'] == pytest.approx(logged.top1, abs=1e-4)
    assert evaluation['top5'] == pytest.approx(logged.top5, abs=1e-4)
    assert evaluation['cross_entropy'] == pytest.approx(logged.val_loss, rel=1e-4)


def test_per_class_table_and_confusion_matrix(evaluation, cifar10_root):
    paths = evaluation['paths']
    labels = fixture_labels(cifar10_root)
    per_class = read_csv(paths['per_class_csv'])
    assert len(per_class) == 10
    assert [int(r['images']) for r in per_class] == np.bincount(labels, minlength=10).tolist()
    for row in per_class:
        expected = 100.0 * int(row['correct']) / int(row['images'])
        assert float(row['accuracy']) == pytest.approx(expected, abs=1e-3)
    assert sum(int(r['correct']) for r in per_class) == round(evaluation['top1'])
    matrix = np.array([[int(v) for v in list(r.values())[1:]]
                       for r in read_csv(paths['confusion_csv'])])
    assert matrix.shape == (10, 10) and matrix.sum() == 100
    assert matrix.sum(1).tolist() == [int(r['images']) for r in per_class]
    assert np.diag(matrix).tolist() == [int(r['correct']) for r in per_class]
    preds = Predictions.load(paths['predictions'])
    assert (preds.labels == labels[preds.indices]).all()
    assert preds.topk_accuracy(1) == pytest.approx(evaluation['top1'])
    with open(paths['per_class_md']) as f:
        table = markdown_rows(f.read())
    assert len(table) == 11 and table[1][1] == 'airplane'
    assert png(paths['confusion_png']).shape == (650, 770, 3)


def test_prediction_grids(evaluation):
    paths = evaluation['paths']
    grid = png(paths['grid_png'])
    assert grid.shape == (810, 1280, 3)  # 32 images, 4 rows of 8
    mistakes = read_csv(paths['mistakes_csv'])
    assert len(mistakes) == min(24, evaluation['mistakes'])
    assert all(r['true'] != r['predicted'] for r in mistakes)
    scores = [float(r['score']) for r in mistakes]
    assert scores == sorted(scores, reverse=True)
    assert all(float(r['true_class_score']) < float(r['score']) for r in mistakes)
    if mistakes:
        image = png(paths['mistakes_png'])
        rows = -(-len(mistakes) // 8)
        assert image.shape == (int(round(100 * (1.9 * rows + 0.5))),
                               160 * min(8, len(mistakes)), 3)
        assert count_color(image, MISTAKE_RED) > 200 * len(mistakes)  # red frames
    if evaluation['mistakes'] < 100:  # correct images are framed in green, not red
        assert count_color(grid, (26, 127, 55)) > 0


def test_report_tool(run_dir, fake_runs, tmp_path, cifar10_root):
    out = python_tool('tools/analysis/make_report.py', run_dir, fake_runs['plain'],
                      '--labels', 'Quick', 'Fake', '--out', str(tmp_path / 'rep' / 'REPORT.md'),
                      '--evaluate', '--device', 'cpu')
    assert out.returncode == 0, out.stderr[-3000:]
    report_dir = tmp_path / 'rep'
    text = (report_dir / 'REPORT.md').read_text()
    for heading in ('# Experiment report', '## Results', '## Training curves',
                    '## Checkpoint evaluation', '### Quick'):
        assert heading in text
    links = re.findall(r'\]\(([^)]+)\)', text)
    expected = {'results.csv', 'figures/loss.png', 'figures/val_error.png',
                'figures/curves.csv', 'eval/Quick/per_class_accuracy.csv',
                'eval/Quick/confusion_matrix.png', 'eval/Quick/predictions_grid.png'}
    assert expected <= set(links)
    for link in links:
        assert (report_dir / link).is_file(), link
    table = markdown_rows(text)
    assert [r[0] for r in table[1:]] == ['Quick', 'Fake']
    assert 'No checkpoint evaluation for: Fake' in text  # the fake run has no checkpoint
    assert 'label smoothing 0.2' in text  # the quickstart's training loss is smoothed
    per_class = text.split('### Quick')[1]
    assert len(markdown_rows(per_class)) == 11
    assert png(report_dir / 'figures' / 'loss.png').shape == (450, 700, 3)


def test_plot_curves_tool(run_dir, fake_runs, tmp_path):
    run_cli('tools/analysis/plot_curves.py', ['plot_curves.py', run_dir, fake_runs['resumed'],
                                              '--labels', 'Quick', 'Res',
                                              '--out-dir', str(tmp_path)])
    rows = read_csv(tmp_path / 'curves.csv')
    assert [r['run'] for r in rows] == ['Quick'] * TRAINED_EPOCHS + ['Res'] * 3
    assert all(r['val_loss'] for r in rows)
    assert os.path.getsize(tmp_path / 'loss.png') > 10000


def test_collect_results_baseline_delta(fake_runs, tmp_path):
    out = tmp_path / 'ablation.md'
    run_cli('tools/analysis/collect_results.py',
            ['collect_results.py', fake_runs['root'], '--out', str(out), '--no-complexity',
             '--baseline', 'group/plain'])
    rows = {r['run']: r for r in read_csv(tmp_path / 'ablation.csv')}
    # last top-1: resumed 44, plain 25
    assert float(rows['resumed']['delta_top1']) == pytest.approx(19.0)
    assert float(rows['group/plain']['delta_top1']) == 0
    header = markdown_rows(out.read_text())[0]
    assert header.index('Δ top-1 vs baseline') == header.index('last top-1') + 1


def test_collect_results_unknown_baseline_is_a_clear_error(fake_runs):
    rows = collect_results([fake_runs['root']], complexity=False)
    with pytest.raises(ValueError, match="'nope' must name exactly one run.*group/plain"):
        add_baseline_delta(rows, 'nope')


METAFILE = """\
# How the numbers were measured: kept by the update.
Collections:
  - Name: Fake
Models:
  - Name: fake-model
    Metadata:
      Parameters: 1
    Results:
      - Task: Image Classification
        Dataset: CIFAR-10
        Metrics:
          Top 1 Accuracy: 1.00
    Config: configs/fake_cfg.py
  - Name: quick-model
    In Collection: Fake
    Config: configs/fastcifarnet_per_sample_cifar10.py
  - Name: unmeasured
    Config: configs/other.py
"""


def test_collect_results_writes_metafile_results(fake_runs, tmp_path):
    work_dirs = tmp_path / 'work_dirs'
    shutil.copytree(fake_runs['root'], work_dirs)
    plain = work_dirs / 'group' / 'plain'
    os.rename(plain / 'fake_cfg.py',
              plain / 'fastcifarnet_per_sample_cifar10.py')
    metafile = tmp_path / 'metafile.yml'
    metafile.write_text(METAFILE)
    for _ in range(2):  # a second update replaces the Results, it does not stack them
        run_cli('tools/analysis/collect_results.py',
                ['collect_results.py', str(work_dirs),
                 '--out', str(tmp_path / 'r.md'), '--no-complexity',
                 '--metafile', str(metafile), '--protocol', 'CPU budget'])
    text = metafile.read_text()
    assert text.startswith('# How the numbers were measured: kept by the update.\n')
    models = {m['Name']: m for m in yaml.safe_load(text)['Models']}
    # last validation of the runs: resumed (config fake_cfg) 44/90, group/plain 25/65
    assert models['fake-model']['Results'] == [dict(
        Task='Image Classification', Dataset='CIFAR-10',
        Metrics={'Top 1 Accuracy (CPU budget)': 44.0,
                 'Top 5 Accuracy (CPU budget)': 90.0})]
    assert models['fake-model']['Metadata'] == {'Parameters': 1}
    quick = models['quick-model']['Results'][0]['Metrics']
    assert quick['Top 1 Accuracy (CPU budget)'] == 25.0
    assert models['quick-model']['In Collection'] == 'Fake'
    assert models['unmeasured'] == {'Name': 'unmeasured', 'Config': 'configs/other.py'}
    assert [list(m)[-1] for m in models.values()] == ['Config'] * 3


def test_metafile_update_errors_keep_the_file(fake_runs, tmp_path):
    metafile = tmp_path / 'metafile.yml'
    metafile.write_text('Collections: []\n')
    rows = collect_results([fake_runs['root']], complexity=False)
    with pytest.raises(ValueError, match='no top-level "Models:"'):
        write_metafile_results(str(metafile), rows[:1])
    assert metafile.read_text() == 'Collections: []\n'
    assert [r['config'] for r in rows] == ['fake_cfg', 'fake_cfg']
    with pytest.raises(ValueError, match="both measure config 'fake_cfg'"):
        write_metafile_results(str(metafile), rows)
    with pytest.raises(SystemExit) as exc:
        run_cli('tools/analysis/collect_results.py',
                ['collect_results.py', fake_runs['root'],
                 '--protocol', 'CPU budget'])
    assert exc.value.code == 1  # usage errors are one ERROR line, exit 1


def test_overlaid_runs_keep_distinct_styles(fake_runs, tmp_path):
    from cifar_plugins.analysis.curves import run_style
    styles = [tuple(sorted(run_style(i).items())) for i in range(40)]
    assert len(set(styles)) == 40 and run_style(0) == dict(color='C0', marker='o')
    runs = load_runs([fake_runs['resumed'], fake_runs['plain']] * 6,
                     labels=[f'run{i}' for i in range(12)])
    paths = plot_curves(runs, str(tmp_path))
    for key in ('loss', 'val_error'):  # the long legend goes beside the axes, not over them
        height, width, _ = png(paths[key]).shape
        assert height == 450 and width > 850
