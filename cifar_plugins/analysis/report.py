"""A markdown report (REPORT.md) of several runs: tables, curves,
evaluations."""
import datetime
import glob
import json
import os
import os.path as osp
import re
import sys
from typing import Dict, List, Optional, Sequence

from .checkpoint_eval import SUMMARY_NAME, evaluate_checkpoint
from .curves import load_runs, plot_curves
from .results import (DIGITS, MARKDOWN_COLUMNS, MARKDOWN_HEADERS, run_result,
                      write_results)
from .run_logs import RunLog, find_checkpoint
from .tables import markdown_table, read_csv

MAX_CLASSES_IN_TABLE = 20


def training_loss_note(cfg) -> Optional[str]:
    """Why a run's training loss is not plain cross-entropy, if it is not."""
    model = cfg.get('model') or {}
    reasons = []
    loss = (model.get('head') or {}).get('loss') or {}
    if loss.get('label_smooth_val'):
        reasons.append(f'label smoothing {loss["label_smooth_val"]}')
    preproc = model.get('data_preprocessor') or cfg.get(
        'data_preprocessor') or {}
    augments = (preproc.get('batch_augments') or {}).get('augments') or []
    if isinstance(augments, dict):
        augments = [augments]
    reasons += [a.get('type') for a in augments if a.get('type')]
    return ', '.join(reasons) if reasons else None


def _slug(name: str) -> str:
    return re.sub(r'[^A-Za-z0-9_.-]+', '_', name).strip('_') or 'run'


def existing_evaluation(run_dir: str) -> Optional[Dict]:
    """The newest ``eval_summary.json`` under ``<run_dir>/analysis/``."""
    found = sorted(
        glob.glob(osp.join(run_dir, 'analysis', '*', SUMMARY_NAME)),
        key=osp.getmtime)
    if not found:
        return None
    with open(found[-1]) as f:
        return json.load(f)


def _link(path: str, start: str) -> str:
    return osp.relpath(path, start).replace(os.sep, '/')


def _evaluation_section(run: RunLog, summary: Dict,
                        report_dir: str) -> List[str]:
    paths = summary['paths']
    lines = [
        f'### {run.name}', '',
        f'Checkpoint `{osp.basename(summary["checkpoint"])}` (epoch '
        f'{summary["epoch"]}) on {summary["images"]} test images: top-1 '
        f'**{summary["top1"]:.2f}%**, top-5 {summary["top5"]:.2f}%, '
        f'cross-entropy {summary["cross_entropy"]:.4f}, '
        f'{summary["mistakes"]} mistakes.', ''
    ]
    per_class = read_csv(paths['per_class_csv'])
    columns = ['name', 'images', 'correct', 'accuracy', 'most_confused_with']
    headers = [
        'class', 'images', 'correct', 'accuracy (%)', 'most confused with'
    ]
    if len(per_class) > MAX_CLASSES_IN_TABLE:
        worst = sorted(
            per_class, key=lambda r:
            (r['accuracy'] is None, r['accuracy']))[:10]
        lines += [
            'The 10 classes with the lowest accuracy (all classes: '
            '[per_class_accuracy.csv]'
            f'({_link(paths["per_class_csv"], report_dir)})):', '',
            markdown_table(worst, columns, headers)
        ]
    else:
        lines += [
            markdown_table(per_class, columns, headers),
            f'([CSV]({_link(paths["per_class_csv"], report_dir)}))', ''
        ]
    for key, caption in (('confusion_png', 'Confusion matrix'),
                         ('grid_png',
                          'Test images, true and predicted labels'),
                         ('mistakes_png', 'Most confident mistakes')):
        if key in paths:
            lines += [
                f'![{caption} ({run.name})]({_link(paths[key], report_dir)})',
                ''
            ]
    return lines


def make_report(run_dirs: Sequence[str],
                out: str = 'REPORT.md',
                labels: Optional[Sequence[str]] = None,
                title: str = 'Experiment report',
                evaluate: bool = False,
                which: str = 'best',
                cfg_options: Optional[dict] = None,
                device: Optional[str] = None,
                complexity: bool = True,
                progress: bool = True) -> Dict:
    """Write ``out`` (markdown) with the runs' results table, curves and
    evaluations.

    Next to ``out`` it writes ``figures/`` (:func:`plot_curves`),
    ``results.md``/``results.csv`` and, with ``evaluate``, ``eval/<run>/``
    (:func:`evaluate_checkpoint` on each run's best or last checkpoint).
    Without ``evaluate`` the report links the newest evaluation already
    written under ``<run>/analysis/`` by ``tools/analysis/eval_checkpoint.py``.
    All links are relative, so the folder can be moved or zipped.

    Args:
        run_dirs (Sequence[str]): Work dirs of the runs to compare.
        out (str): Report path. Defaults to ``REPORT.md``.
        labels (Sequence[str], optional): Display names, one per run.
        title (str): Report title.
        evaluate (bool): Evaluate each run's checkpoint on the test set.
        which (str): ``'best'`` (falls back to last) or ``'last'`` checkpoint.
        cfg_options (dict, optional): Config overrides for the evaluation.
        device (str, optional): Evaluation device.
        complexity (bool): Params/GMACs columns.
        progress (bool): Progress bars during evaluation.

    Returns:
        dict: ``report`` path, ``results``/``curves`` paths, ``evaluations``.
    """
    runs = load_runs(run_dirs, labels)
    report_dir = osp.dirname(osp.abspath(out))
    os.makedirs(report_dir, exist_ok=True)
    curves = plot_curves(runs, osp.join(report_dir, 'figures'))
    rows = [run_result(run, complexity) for run in runs]
    results = write_results(rows, osp.join(report_dir, 'results'))

    evaluations, notes = {}, []
    for run in runs:
        if run.config_path is not None:
            note = training_loss_note(run.load_config())
            if note:
                notes.append(f'{run.name} ({note})')
        if evaluate:
            checkpoint = find_checkpoint(run.run_dir, which)
            if checkpoint is not None:
                if progress:
                    print(
                        f'Evaluating {run.name}: {checkpoint}',
                        file=sys.stderr)
                evaluations[run.name] = evaluate_checkpoint(
                    checkpoint,
                    osp.join(report_dir, 'eval', _slug(run.name)),
                    cfg_options=cfg_options,
                    device=device,
                    progress=progress)
        else:
            summary = existing_evaluation(run.run_dir)
            if summary is not None:
                evaluations[run.name] = summary

    lines = [
        f'# {title}', '',
        f'{len(runs)} run(s), generated {datetime.date.today().isoformat()} '
        'by `tools/analysis/make_report.py`.', '', '## Results', '',
        markdown_table(rows, MARKDOWN_COLUMNS, MARKDOWN_HEADERS, DIGITS),
        '*best top-1*: the highest validation top-1 (%) over the '
        'epochs, at *best epoch* (its top-5 beside it); *last*: '
        'the final validation. Params and GMACs (multiply-'
        'accumulates) for one image; wall time of the training '
        f'sessions. [CSV]({_link(results["csv"], report_dir)})', '',
        '## Training curves', '', '![Training and validation '
        f'loss]({_link(curves["loss"], report_dir)})', '',
        f'![Validation error]({_link(curves["val_error"], report_dir)})', '',
        'Validation loss is the plain cross-entropy of the validation set '
        '(`ValLoss` metric).'
    ]
    if notes:
        lines[-1] += (' The training loss is not plain cross-entropy for ' +
                      '; '.join(notes) +
                      ': it is computed on smoothed or mixed targets, so '
                      'its level is not comparable to the validation '
                      'loss (compare the trends, not the values).')
    lines += [
        '', 'Per-epoch numbers: '
        f'[curves.csv]({_link(curves["csv"], report_dir)}).', ''
    ]
    missing = [run.name for run in runs if run.name not in evaluations]
    if evaluations:
        lines += ['## Checkpoint evaluation', '']
        for run in runs:
            if run.name in evaluations:
                lines += _evaluation_section(run, evaluations[run.name],
                                             report_dir)
    if missing:
        lines += [
            f'No checkpoint evaluation for: {", ".join(missing)} (run '
            '`tools/analysis/eval_checkpoint.py`, or pass `--evaluate`).', ''
        ]
    with open(out, 'w') as f:
        f.write('\n'.join(lines).rstrip() + '\n')
    return dict(
        report=out, results=results, curves=curves, evaluations=evaluations)
