"""One table of every training run under a work_dirs folder."""
import os.path as osp
import warnings
from typing import Dict, List, Optional, Sequence

from .complexity import model_complexity
from .run_logs import RunDirError, RunLog, find_runs, load_run
from .tables import format_duration, write_csv, write_markdown

RESULT_COLUMNS = [
    'run', 'config', 'dataset', 'epochs', 'max_epochs', 'best_top1',
    'best_epoch', 'last_top1', 'best_top5', 'last_top5', 'last_val_loss',
    'params_m', 'gmacs', 'wall_time', 'wall_time_s'
]
RESULT_HEADERS = [
    'run', 'config', 'dataset', 'epochs', 'max epochs', 'best top-1',
    'best epoch', 'last top-1', 'best top-5', 'last top-5', 'last val loss',
    'params (M)', 'GMACs', 'wall time', 'wall time (s)'
]
# markdown shows the wall time once (h:mm:ss); the CSV also has it in seconds
MARKDOWN_COLUMNS = RESULT_COLUMNS[:-1]
MARKDOWN_HEADERS = RESULT_HEADERS[:-1]
# decimals in markdown (2 elsewhere): small CIFAR nets are a few hundredths of
# a GMAC
DIGITS = {'gmacs': 3, 'last_val_loss': 3}


def run_result(run: RunLog, complexity: bool = True) -> Dict:
    """The results-table row of one run.

    ``best_*`` is the validation epoch with the highest top-1 (its top-5 is
    the top-5 at that epoch), ``last_*`` the final validation. Params and
    GMACs come from the run's dumped config (:func:`model_complexity`); they
    stay empty, with a warning, if that model no longer builds.
    """
    best, last = run.best, run.last
    row = dict(
        run=run.name,
        config=run.config_name,
        epochs=run.trained_epochs,
        best_top1=best.top1 if best else None,
        best_epoch=best.epoch if best else None,
        best_top5=best.top5 if best else None,
        last_top1=last.top1 if last else None,
        last_top5=last.top5 if last else None,
        last_val_loss=last.val_loss if last else None,
        wall_time=format_duration(run.wall_time),
        wall_time_s=round(run.wall_time)
        if run.wall_time is not None else None)
    if run.config_path is not None:
        cfg = run.load_config()
        row['max_epochs'] = (cfg.get('train_cfg') or {}).get('max_epochs')
        dataset = ((cfg.get('train_dataloader') or {}).get('dataset') or {})
        row['dataset'] = dataset.get('dataset', dataset).get('type')
        if complexity:
            try:
                stats = model_complexity(cfg)
                row.update(params_m=stats['params_m'], gmacs=stats['gmacs'])
            # one config that no longer builds must not sink the table
            except Exception as err:
                warnings.warn(f'{run.name}: params/GMACs left empty, '
                              f'the model of {run.config_path} did not '
                              f'build ({type(err).__name__}: {err})')
    return row


def collect_results(work_dirs: Sequence[str] = ('work_dirs', ),
                    names: Optional[Sequence[str]] = None,
                    complexity: bool = True) -> List[Dict]:
    """Rows for every training run found under the given folders.

    Args:
        work_dirs (Sequence[str]): Folders searched recursively for runs
            (:func:`find_runs`); a run folder itself is accepted.
        names (Sequence[str], optional): Display names, one per run found.
            Defaults to each run's path relative to its work_dirs folder.
        complexity (bool): Compute params/GMACs (builds each model once).

    Raises:
        FileNotFoundError: a folder does not exist.
        RunDirError: no run found.
    """
    found = []
    for work_dir in work_dirs:
        if not osp.isdir(work_dir):
            raise FileNotFoundError(f'No such folder: {work_dir}')
        for run_dir in find_runs(work_dir):
            rel = osp.relpath(run_dir, work_dir)
            found.append(
                (run_dir,
                 osp.basename(osp.normpath(run_dir)) if rel == '.' else rel))
    if not found:
        raise RunDirError(
            f'No training runs (<timestamp>/vis_data/scalars.json with '
            f'training rows) under {", ".join(work_dirs)}')
    if names is not None and len(names) != len(found):
        raise ValueError(f'Got {len(names)} names for {len(found)} runs.')
    names = names or [name for _, name in found]
    return [
        run_result(load_run(d, name), complexity)
        for (d, _), name in zip(found, names)
    ]


def add_baseline_delta(rows: Sequence[Dict], baseline: str) -> List[Dict]:
    """Add ``delta_top1`` to every row: its last top-1 minus the baseline's.

    Args:
        rows (Sequence[Dict]): Rows of :func:`collect_results`.
        baseline (str): Run name or config name of the reference run.

    Raises:
        ValueError: no row, or more than one, is the baseline, or it has no
            top-1.
    """
    matches = [r for r in rows if baseline in (r['run'], r.get('config'))]
    if len(matches) != 1:
        raise ValueError(
            f'--baseline {baseline!r} must name exactly one run (by run or '
            f'config name), matched {len(matches)}; runs: '
            f'{", ".join(r["run"] for r in rows)}')
    reference = matches[0]['last_top1']
    if reference is None:
        raise ValueError(
            f'Baseline run {matches[0]["run"]!r} has no validation top-1.')
    return [
        dict(
            row,
            delta_top1=None if row['last_top1'] is None else row['last_top1'] -
            reference) for row in rows
    ]


def _with_delta(columns: Sequence[str], headers: Sequence[str],
                rows: Sequence[Dict]):
    """Columns/headers with ``delta_top1`` after ``last_top1`` when rows have
    it."""
    if not any('delta_top1' in r for r in rows):
        return list(columns), list(headers)
    at = columns.index('last_top1') + 1
    return ([*columns[:at], 'delta_top1', *columns[at:]],
            [*headers[:at], 'Δ top-1 vs baseline', *headers[at:]])


def write_results(rows: Sequence[Dict], out: str) -> Dict[str, str]:
    """Write ``rows`` as ``<out>.md`` and ``<out>.csv`` (``out`` may end in
    either); returns both paths. Rows from :func:`add_baseline_delta` get a
    ``delta_top1`` column after ``last_top1``."""
    stem = osp.splitext(out)[0] if out.endswith(('.md', '.csv')) else out
    md_columns, md_headers = _with_delta(MARKDOWN_COLUMNS, MARKDOWN_HEADERS,
                                         rows)
    csv_columns, _ = _with_delta(RESULT_COLUMNS, RESULT_HEADERS, rows)
    return dict(
        markdown=write_markdown(
            rows,
            md_columns,
            stem + '.md',
            md_headers,
            title='Results',
            digits=DIGITS),
        csv=write_csv(rows, csv_columns, stem + '.csv'))
