"""cifar_plugins.analysis.metafile: measured results written into metafiles."""
import pytest
import yaml

import cifar_plugins  # noqa: F401
from cifar_plugins.analysis import collect_results
from cifar_plugins.analysis.metafile import write_metafile_results
from helpers import run_cli


def test_written_results_name_the_dataset_and_the_protocol(tmp_path):
    metafile = tmp_path / 'metafile.yml'
    metafile.write_text('Models:\n  - Name: slim\n    Config: c/slim.py\n')
    row = dict(run='r', config='slim', last_top1=12.345, last_top5=None,
               dataset='VerifiedCIFAR100')
    write_metafile_results(str(metafile), [row], 'budget: 3 epochs')
    result = yaml.safe_load(metafile.read_text())['Models'][0]['Results'][0]
    assert result == dict(Task='Image Classification', Dataset='CIFAR-100',
                          Metrics={'Top 1 Accuracy (budget: 3 epochs)': 12.35})
    with pytest.raises(ValueError, match='CIFAR-10 or CIFAR-100'):
        write_metafile_results(str(metafile), [dict(row, dataset='MNIST')])


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
