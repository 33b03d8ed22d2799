"""tools/analysis/collect_results.py: the results table and metafile updates."""
import os
import os.path as osp
import shutil

import pytest
import yaml
from mmengine.config import Config

import cifar_plugins  # noqa: F401
from cifar_plugins.analysis import load_run
from cifar_plugins.analysis.results import RESULT_COLUMNS
from cifar_plugins.registry import MODELS
from helpers import markdown_rows, read_csv, run_cli
from tiny_runs import TRAINED_EPOCHS


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
