"""A study's report, made from fake run records with known numbers."""
import math
import os.path as osp

import pytest

from cifar_plugins.analysis.study_records import load_records
from cifar_plugins.analysis.study_report import (claim_rows, summary_rows,
                                                 write_study_report)
from cifar_plugins.apis.study import load_study, write_record
from helpers import REPO


def fake_record(arm, seed, all_, exact, losses):
    return dict(study='fake', scale='cpu', arm=arm, seed=seed,
                config=f'configs/{arm}.py', top1_all=all_, top1_exact=exact,
                params=1_500_000, macs=40_000_000, train_images_per_s=500.0,
                train_wall_s=600.0, device_name='Test CPU',
                precision='float32',
                curves=[dict(epoch=i + 1, train_loss=x, val_top1=50 + 10 * i,
                             val_loss=1.0) for i, x in enumerate(losses)])


def test_report_from_fake_runs(tmp_path):
    zoo = tmp_path / 'README.md'
    zoo.write_text('# zoo\n\n<!-- study:fake:cpu begin (tools/study.py '
                   'writes this) -->\nSTALE\n<!-- study:fake:cpu end -->\n'
                   'kept\n')
    study_file = tmp_path / 'fake.py'
    base = osp.join(REPO, 'configs', 'resnet18_cifar10.py')
    study_file.write_text(
        f"baseline = 'base'\nseeds = 3\nzoo_readmes = ['README.md']\n"
        "scales = dict(cpu=dict())\n"
        f"arms = [dict(name='base', config='{base}'), "
        f"dict(name='new', config='{base}')]\n"
        "claims = [dict(text='new helps', arm='new', reference='base', "
        "expect='>'), dict(text='new trains worse', arm='new', "
        "reference='base', expect='>', metric='final_train_loss')]\n"
        "figures = [dict(name='pair', metric='train_loss', "
        "panels=[['base'], ['new']])]\n")
    study = load_study(str(study_file))
    folder = str(tmp_path / 'results')
    values = {'base': [(80.0, 90.0), (81.0, 91.0), (82.0, 92.0)],
              'new': [(81.0, 90.5), (82.5, 91.0), (83.0, 93.0)]}
    for arm, pairs in values.items():
        for seed, (all_, exact) in enumerate(pairs):
            write_record(fake_record(arm, seed, all_, exact,
                                     [1.0, 0.5 + 0.1 * (arm == 'new')]),
                         osp.join(folder, 'runs', arm, f'seed{seed}.json'))
    records = load_records(folder)
    assert len(records) == 6
    rows = summary_rows(records, ['base', 'new'], 'base')
    new = rows[1]
    # paired differences 1.0, 1.5, 1.0: mean 1.1667, sd 0.288675
    half = 4.3027 * 0.288675 / math.sqrt(3)
    assert new['diff_all_mean'] == pytest.approx(7 / 6)
    assert new['diff_all_low'] == pytest.approx(7 / 6 - half, abs=1e-3)
    assert new['top1_exact_mean'] == pytest.approx(91.5)
    assert new['top1_exact_std'] == pytest.approx(math.sqrt(1.75))
    claims = claim_rows(records, study.claims)
    assert [c['verdict'] for c in claims] == ['holds', 'holds']
    assert claims[1]['mean'] == pytest.approx(0.1)

    paths = write_study_report(study, 'cpu', folder)
    report = open(paths['report']).read()
    assert '| new | 0 1 2 | 91.50 ± 1.32 | 82.17 ± 1.04 |' in report
    assert f'+1.17 [{7 / 6 - half:+.2f}, {7 / 6 + half:+.2f}]' in report
    assert 'new helps' in report and 'Test CPU (float32)' in report
    for name in ('train_loss', 'val_error', 'pair'):
        assert osp.getsize(paths[name]) > 1000
        assert f'({name}.png)' in report
    readme = zoo.read_text()
    assert 'STALE' not in readme and readme.endswith('end -->\nkept\n')
    assert '| new | 0 1 2 |' in readme and '**holds**' in readme
    assert paths['zoo'] == [str(zoo)]
    with open(paths['csv']) as f:
        assert f.readline().startswith('arm,config,seeds,top1_exact_mean')
    # the report is a function of the records: writing it again changes
    # nothing
    first = open(paths['report']).read()
    write_study_report(study, 'cpu', folder)
    assert open(paths['report']).read() == first
