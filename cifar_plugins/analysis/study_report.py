"""The report of a multi-seed study, made from its run records alone.

Per arm: mean +- std over seeds and every seed's figure (exact and all test
images, TTA), the paired difference to the baseline on all test images with
its 95% interval, parameters, MACs, training speed and wall time; the
claims of the study file with their verdicts; training-loss and
validation-error curves as the mean over seeds with a min-max band.
"""
import os
import os.path as osp
import re
from typing import Dict, List, Optional, Sequence

from cifar_plugins.compat import atomic_write_bytes
from .figures import new_figure, save_figure
from .study_records import load_records
from .study_stats import mean_std, paired_difference, verdict
from .tables import format_duration, markdown_table, write_csv

CONFIDENCE = 0.95
SUMMARY_COLUMNS = [
    'arm', 'config', 'seeds', 'top1_exact_mean', 'top1_exact_std',
    'top1_all_mean', 'top1_all_std', 'diff_all_mean', 'diff_all_low',
    'diff_all_high', 'params_m', 'gmacs', 'train_images_per_s', 'train_wall_s'
]
SEED_COLUMNS = [
    'arm', 'seed', 'top1_exact', 'top1_all', 'final_train_loss',
    'train_images_per_s', 'train_wall_s', 'device_name'
]
ZOO_BEGIN = '<!-- study:{name}:{scale} begin (tools/study.py writes this) -->'
ZOO_END = '<!-- study:{name}:{scale} end -->'


def final_train_loss(record: Dict) -> Optional[float]:
    losses = [
        c['train_loss'] for c in record['curves']
        if c.get('train_loss') is not None
    ]
    return losses[-1] if losses else None


METRICS = {
    'top1_all': lambda r: r['top1_all'],
    'top1_exact': lambda r: r['top1_exact'],
    'final_train_loss': final_train_loss,
}


def by_seed(records: Sequence[Dict],
            arm: str,
            metric: str = 'top1_all') -> Dict[int, float]:
    """Seed -> ``metric`` of ``arm``'s records."""
    value = METRICS[metric]
    return {
        r['seed']: value(r)
        for r in records if r['arm'] == arm and value(r) is not None
    }


def _mean(values):
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def summary_rows(records: Sequence[Dict], arms: Sequence[str],
                 baseline: str) -> List[Dict]:
    """One row per arm with records, in the study's arm order."""
    rows = []
    base = by_seed(records, baseline)
    for arm in arms:
        own = [r for r in records if r['arm'] == arm]
        if not own:
            continue
        exact = mean_std(
            [r['top1_exact'] for r in own if r['top1_exact'] is not None])
        whole = mean_std([r['top1_all'] for r in own])
        row = dict(
            arm=arm,
            config=own[0]['config'],
            seeds=' '.join(str(r['seed']) for r in own),
            top1_exact_mean=exact['mean'],
            top1_exact_std=exact['std'],
            top1_all_mean=whole['mean'],
            top1_all_std=whole['std'],
            params_m=own[0]['params'] / 1e6,
            gmacs=own[0]['macs'] / 1e9,
            train_images_per_s=_mean(r['train_images_per_s'] for r in own),
            train_wall_s=_mean(r['train_wall_s'] for r in own))
        if arm != baseline:
            diff = paired_difference(by_seed(records, arm), base, CONFIDENCE)
            row.update(
                diff_all_mean=diff['mean'],
                diff_all_low=diff['low'],
                diff_all_high=diff['high'],
                diff_pairs=diff['n'])
        rows.append(row)
    return rows


def claim_rows(records: Sequence[Dict], claims: Sequence[Dict]) -> List:
    """Each claim's paired difference (arm - reference) and verdict."""
    rows = []
    for claim in claims:
        metric = claim.get('metric', 'top1_all')
        diff = paired_difference(
            by_seed(records, claim['arm'], metric),
            by_seed(records, claim['reference'], metric), CONFIDENCE)
        rows.append(
            dict(
                claim=claim['text'],
                metric=metric,
                comparison=(f"{claim['arm']} {claim['expect']} "
                            f"{claim['reference']}"),
                pairs=diff['n'],
                mean=diff['mean'],
                low=diff['low'],
                high=diff['high'],
                verdict=verdict(diff, claim['expect'])
                if diff['n'] else 'no runs'))
    return rows


def _pm(mean, std, digits=2):
    if mean is None:
        return ''
    return (f'{mean:.{digits}f}'
            if std is None else f'{mean:.{digits}f} ± {std:.{digits}f}')


def _interval(mean, low, high, digits=2):
    if mean is None:
        return ''
    if low is None:
        return f'{mean:+.{digits}f} (one pair)'
    return f'{mean:+.{digits}f} [{low:+.{digits}f}, {high:+.{digits}f}]'


def display_rows(rows: Sequence[Dict], baseline: str) -> List[Dict]:
    """Summary rows as the report's table cells."""
    shown = []
    for row in rows:
        diff = ('baseline' if row['arm'] == baseline else _interval(
            row.get('diff_all_mean'), row.get('diff_all_low'),
            row.get('diff_all_high')))
        shown.append(
            dict(
                arm=row['arm'],
                seeds=row['seeds'],
                exact=_pm(row['top1_exact_mean'], row['top1_exact_std']),
                all=_pm(row['top1_all_mean'], row['top1_all_std']),
                diff=diff,
                params=f"{row['params_m']:.2f}",
                gmacs=f"{row['gmacs']:.3f}",
                speed=(f"{row['train_images_per_s']:.0f}"
                       if row['train_images_per_s'] else ''),
                wall=format_duration(row['train_wall_s'])))
    return shown


DISPLAY_COLUMNS = [
    'arm', 'seeds', 'exact', 'all', 'diff', 'params', 'gmacs', 'speed', 'wall'
]


def display_headers(baseline: str) -> List[str]:
    return [
        'arm', 'seeds', 'top-1 exact (%)', 'top-1 all (%)',
        f'Δ all vs {baseline} [95% CI]', 'params (M)', 'GMACs', 'train img/s',
        'train time'
    ]


def _curve(records: Sequence[Dict], arm: str, metric: str):
    """``(epochs, mean, low, high)`` of a per-epoch metric over seeds."""
    series = {}
    for record in records:
        if record['arm'] != arm:
            continue
        for point in record['curves']:
            value = point.get('val_top1' if metric == 'val_error' else metric)
            if value is None:
                continue
            value = 100.0 - value if metric == 'val_error' else value
            series.setdefault(point['epoch'], []).append(value)
    epochs = sorted(series)
    return (epochs, [_mean(series[e]) for e in epochs],
            [min(series[e]) for e in epochs], [max(series[e]) for e in epochs])


LABELS = {'train_loss': 'training loss', 'val_error': 'validation error (%)'}


def plot_band(ax, records, arms, metric):
    for arm in arms:
        epochs, mean, low, high = _curve(records, arm, metric)
        if not epochs:
            continue
        seeds = len({r['seed'] for r in records if r['arm'] == arm})
        line, = ax.plot(
            epochs,
            mean,
            marker='o',
            markersize=3,
            label=f'{arm} ({seeds} seed{"s" * (seeds > 1)})')
        ax.fill_between(epochs, low, high, color=line.get_color(), alpha=0.2)
    ax.set_xlabel('epoch')
    ax.set_ylabel(LABELS[metric])
    ax.grid(alpha=0.3)
    if ax.get_lines():
        ax.legend(fontsize=8)


def plot_study(records: Sequence[Dict], arms: Sequence[str],
               figures: Sequence[Dict], out_dir: str) -> Dict[str, str]:
    """The curves of every arm, and the study file's own figures."""
    paths = {}
    for metric in ('train_loss', 'val_error'):
        fig, ax = new_figure()
        plot_band(ax, records, arms, metric)
        ax.set_title(f'{LABELS[metric].capitalize()}: mean over seeds, '
                     f'band min-max')
        paths[metric] = save_figure(fig, osp.join(out_dir, f'{metric}.png'))
    for spec in figures:
        panels = spec['panels']
        fig, axes = new_figure((5.0 * len(panels), 4.0),
                               1,
                               len(panels),
                               sharey=True)
        for ax, arms_in_panel in zip(
                axes if len(panels) > 1 else [axes], panels):
            plot_band(ax, records, arms_in_panel, spec['metric'])
            ax.set_title(' vs '.join(arms_in_panel))
        fig.suptitle(spec.get('title', spec['name']))
        paths[spec['name']] = save_figure(
            fig, osp.join(out_dir, f"{spec['name']}.png"))
    return paths


def _write_text(text: str, path: str) -> str:
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    atomic_write_bytes(text.encode(), path)
    return path


def zoo_table(study, scale: str, rows: Sequence[Dict], claims: Sequence[Dict],
              report: str) -> str:
    """The markdown block for a model-zoo README."""
    table = markdown_table(
        display_rows(rows, study.baseline), DISPLAY_COLUMNS,
        display_headers(study.baseline))
    verdicts = '\n'.join(f"- {c['claim']}: **{c['verdict']}**" +
                         (f" ({_interval(c['mean'], c['low'], c['high'], 3)})"
                          if c['pairs'] else '') for c in claims)
    return (f'{table}\n\n{verdicts}\n\nAll runs, curves and machines: '
            f'[REPORT.md]({report}). Reproduce: '
            f'`python tools/study.py {osp.relpath(study.path)}'
            f'{"" if scale == study.scale() else " --scale " + scale}`\n')


def update_zoo_readme(readme: str, study, scale: str, block: str) -> bool:
    """Replace the study's generated block in ``readme`` (between its
    markers); ``False`` if the README has no such markers."""
    begin = ZOO_BEGIN.format(name=study.name, scale=scale)
    end = ZOO_END.format(name=study.name, scale=scale)
    with open(readme) as f:
        text = f.read()
    pattern = re.compile(re.escape(begin) + '.*?' + re.escape(end), re.S)
    if not pattern.search(text):
        return False
    new = pattern.sub(lambda _: f'{begin}\n{block}{end}', text)
    if new != text:
        _write_text(new, readme)
    return True


def _machines(records: Sequence[Dict]) -> str:
    machines = sorted({(r['device_name'], r.get('precision') or '')
                       for r in records})
    return '; '.join(f'{name}{f" ({p})" if p else ""}' for name, p in machines)


def write_study_report(study, scale: str, folder: str) -> Optional[Dict]:
    """REPORT.md, results.csv, seeds.csv and figures in ``folder`` (the
    study's results folder, holding ``runs/``), and the generated block of
    each of the study's ``zoo_readmes`` that has its markers. ``None`` if
    no run has a record yet."""
    records = load_records(folder)
    if not records:
        return None
    arms = [a.name for a in study.arms]
    rows = summary_rows(records, arms, study.baseline)
    claims = claim_rows(records, study.claims)
    seed_rows = [
        dict(r, final_train_loss=final_train_loss(r)) for r in records
    ]
    paths = dict(
        csv=write_csv(rows, SUMMARY_COLUMNS + ['diff_pairs'],
                      osp.join(folder, 'results.csv')),
        seeds_csv=write_csv(seed_rows, SEED_COLUMNS,
                            osp.join(folder, 'seeds.csv')))
    figures = plot_study(records, arms, study.figures, folder)
    report = osp.join(folder, 'REPORT.md')
    command = f'python tools/study.py {osp.relpath(study.path)}'
    if scale != study.scale():
        command += f' --scale {scale}'
    missing = [
        f'{a.name} seed {s}' for a in study.arms for s in a.seeds
        if not any(r['arm'] == a.name and r['seed'] == s for r in records)
    ]
    lines = [
        f'# Study `{study.name}` ({scale} scale)', '', study.description, '',
        f'Reproduce (trains the runs that have no record, then rewrites this '
        f'report): `{command}`', '', f'Machines: {_machines(records)}.', '',
        '"exact": the test images whose pixels are the official ones (all '
        'of them on the official files; 1000 in the restored pack, see '
        'docs/data_preparation.md); "all": the 10,000 test images. '
        'Accuracy is after the config\'s TTA. Δ is the mean paired '
        f'difference (seed i of both arms) on all test images, with its '
        f'{CONFIDENCE:.0%} Student-t interval.', '',
        markdown_table(
            display_rows(rows, study.baseline), DISPLAY_COLUMNS,
            display_headers(study.baseline)), ''
    ]
    if claims:
        lines += [
            '## Claims', '',
            markdown_table([
                dict(c, interval=_interval(c['mean'], c['low'], c['high'], 3))
                for c in claims
            ], [
                'claim', 'comparison', 'metric', 'pairs', 'interval', 'verdict'
            ], [
                'claim', 'comparison', 'metric', 'pairs', 'mean Δ [95% CI]',
                'verdict'
            ]), ''
        ]
    lines += [
        '## Every seed', '',
        markdown_table(
            seed_rows,
            SEED_COLUMNS[:-1], [
                'arm', 'seed', 'top-1 exact (%)', 'top-1 all (%)',
                'final train loss', 'train img/s', 'train time (s)'
            ],
            digits=dict(
                final_train_loss=4, train_images_per_s=0, train_wall_s=0)), ''
    ]
    if missing:
        lines += [f'Not run yet: {", ".join(missing)}.', '']
    lines += ['## Curves', '']
    lines += [
        f'![{name}]({osp.basename(path)})' for name, path in figures.items()
    ]
    paths['report'] = _write_text('\n'.join(lines) + '\n', report)
    paths.update(figures)
    paths['zoo'] = [
        readme for readme in study.zoo_readmes if update_zoo_readme(
            readme, study, scale,
            zoo_table(study, scale, rows, claims,
                      osp.relpath(report, osp.dirname(readme))))
    ]
    return paths
