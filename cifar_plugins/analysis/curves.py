"""Per-epoch training curves of one or several runs, overlaid."""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

from .figures import new_figure, save_figure
from .run_logs import RunLog, load_run
from .tables import write_csv, write_markdown

CURVE_COLUMNS = [
    'run', 'epoch', 'train_loss', 'val_loss', 'val_top1', 'val_top5',
    'val_error'
]
SUMMARY_COLUMNS = [
    'run', 'epochs', 'final_train_loss', 'final_val_loss', 'best_val_error',
    'best_epoch', 'last_val_error'
]


def load_runs(run_dirs: Sequence[str],
              labels: Optional[Sequence[str]] = None) -> List[RunLog]:
    """:func:`load_run` for each folder; ``labels`` name them in legends and
    tables."""
    if labels is not None and len(labels) != len(run_dirs):
        raise ValueError(
            f'Got {len(labels)} labels for {len(run_dirs)} runs; give one '
            f'label per run directory.')
    labels = labels or [None] * len(run_dirs)
    return [load_run(d, name=label) for d, label in zip(run_dirs, labels)]


def curve_rows(runs: Sequence[RunLog]) -> List[Dict]:
    """One row per run and epoch (long format, for CSV and plotting tools)."""
    return [
        dict(
            run=run.name,
            epoch=e.epoch,
            train_loss=e.train_loss,
            val_loss=e.val_loss,
            val_top1=e.top1,
            val_top5=e.top5,
            val_error=e.val_error) for run in runs for e in run.epochs
    ]


def summary_rows(runs: Sequence[RunLog]) -> List[Dict]:
    """One row per run: final losses, best and last validation error."""
    rows = []
    for run in runs:
        trained = [e for e in run.epochs if e.train_loss is not None]
        with_val_loss = [e for e in run.epochs if e.val_loss is not None]
        best, last = run.best, run.last
        rows.append(
            dict(
                run=run.name,
                epochs=run.trained_epochs,
                final_train_loss=trained[-1].train_loss if trained else None,
                final_val_loss=with_val_loss[-1].val_loss
                if with_val_loss else None,
                best_val_error=best.val_error if best else None,
                best_epoch=best.epoch if best else None,
                last_val_error=last.val_error if last else None))
    return rows


MARKERS = ('o', 's', '^', 'D')
LEGEND_INSIDE_MAX = 8


def run_style(index: int) -> dict:
    """Colour and marker of the index-th run: matplotlib's 10 colours, then the
    same colours with another marker, so overlays of up to 40 runs stay
    distinct."""
    return dict(
        color=f'C{index % 10}', marker=MARKERS[index // 10 % len(MARKERS)])


def plot_losses(runs: Sequence[RunLog], path: str) -> str:
    """Training loss (solid) and validation loss (dashed, hollow markers) per
    epoch, one style per run (:func:`run_style`)."""
    fig, ax = new_figure()
    for index, run in enumerate(runs):
        style = run_style(index)
        train = [(e.epoch, e.train_loss) for e in run.epochs
                 if e.train_loss is not None]
        val = [(e.epoch, e.val_loss) for e in run.epochs
               if e.val_loss is not None]
        if train:
            ax.plot(
                *zip(*train), **style, markersize=4, label=f'{run.name} train')
        if val:
            ax.plot(
                *zip(*val),
                **style,
                linestyle='--',
                markersize=3,
                fillstyle='none',
                label=f'{run.name} val')
    ax.set(xlabel='epoch', ylabel='loss', title='Training and validation loss')
    _finish(ax)
    return save_figure(fig, path)


def plot_val_error(runs: Sequence[RunLog], path: str) -> str:
    """Validation top-1 error (%) per epoch, one style per run
    (:func:`run_style`)."""
    fig, ax = new_figure()
    for index, run in enumerate(runs):
        points = [(e.epoch, e.val_error) for e in run.val_epochs]
        if points:
            ax.plot(
                *zip(*points),
                **run_style(index),
                markersize=4,
                label=run.name)
    ax.set(xlabel='epoch', ylabel='top-1 error (%)', title='Validation error')
    _finish(ax)
    return save_figure(fig, path)


def _finish(ax) -> None:
    ax.grid(True, alpha=0.3)
    ax.xaxis.get_major_locator().set_params(integer=True)
    entries = len(ax.get_legend_handles_labels()[0])
    # a long legend would hide the curves: put it beside them
    if entries > LEGEND_INSIDE_MAX:
        columns = -(-entries // 24)
        width, height = ax.figure.get_size_inches()
        ax.figure.set_size_inches(width + 2.2 * columns, height)
        ax.legend(
            fontsize='x-small',
            loc='upper left',
            bbox_to_anchor=(1.01, 1.0),
            ncol=columns,
            borderaxespad=0.0)
    elif entries:
        ax.legend(fontsize='small')


def plot_curves(runs: Sequence[RunLog], out_dir: str) -> Dict[str, str]:
    """Write the curve figures and tables of ``runs`` into ``out_dir``.

    Files: ``loss.png`` (train/val loss), ``val_error.png``, ``curves.csv``
    (every run and epoch) and ``curves.md`` (one summary row per run).

    Args:
        runs (Sequence[RunLog]): Runs from :func:`load_runs`.
        out_dir (str): Output folder (created).

    Returns:
        dict: Paths by kind: ``loss``, ``val_error``, ``csv``, ``markdown``.
    """
    os.makedirs(out_dir, exist_ok=True)
    return dict(
        loss=plot_losses(runs, osp.join(out_dir, 'loss.png')),
        val_error=plot_val_error(runs, osp.join(out_dir, 'val_error.png')),
        csv=write_csv(
            curve_rows(runs), CURVE_COLUMNS, osp.join(out_dir, 'curves.csv')),
        markdown=write_markdown(
            summary_rows(runs),
            SUMMARY_COLUMNS,
            osp.join(out_dir, 'curves.md'),
            title='Training curves'))
