"""tools/analysis/plot_curves.py: curves of several runs."""
import os

import cifar_plugins  # noqa: F401
from helpers import read_csv, run_cli
from tiny_runs import TRAINED_EPOCHS


def test_plot_curves_tool(run_dir, fake_runs, tmp_path):
    run_cli('tools/analysis/plot_curves.py', ['plot_curves.py', run_dir, fake_runs['resumed'],
                                              '--labels', 'Quick', 'Res',
                                              '--out-dir', str(tmp_path)])
    rows = read_csv(tmp_path / 'curves.csv')
    assert [r['run'] for r in rows] == ['Quick'] * TRAINED_EPOCHS + ['Res'] * 3
    assert all(r['val_loss'] for r in rows)
    assert os.path.getsize(tmp_path / 'loss.png') > 10000
