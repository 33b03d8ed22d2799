"""tools/analysis/make_report.py: the experiment report."""
import re

import cifar_plugins  # noqa: F401
from helpers import markdown_rows, png, python_tool


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
