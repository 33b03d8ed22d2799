"""cifar_plugins.analysis.curves: training-curve figures and tables."""
import pytest

import cifar_plugins  # noqa: F401
from cifar_plugins.analysis import load_runs, plot_curves
from helpers import count_color, markdown_rows, png, read_csv


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
