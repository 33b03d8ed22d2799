"""Read what mmengine wrote for a training run: scalars, logs, config,
checkpoints.

A run directory (``work_dirs/<name>``) holds one session folder per launch
(``<YYYYmmdd_HHMMSS>/`` with ``<timestamp>.log`` and ``vis_data/scalars.json``;
a resumed run has several), a copy of the config and the checkpoints. In
``scalars.json`` (written by mmengine's ``LocalVisBackend``, one JSON object
per line) training rows carry ``loss``/``lr``/``epoch``/``iter`` and
validation rows carry the metrics (``accuracy/top1``, ``val/cross_entropy``
from :class:`~cifar_plugins.evaluation.ValLoss`...) with ``step`` = epoch.
"""
import datetime
import glob
import json
import os
import os.path as osp
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from mmengine.config import Config

SESSION_PATTERN = re.compile(r'^\d{8}_\d{6}$')
LOG_TIME_PATTERN = re.compile(r'^(\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2})')
TOP1_KEY, TOP5_KEY, VAL_LOSS_KEY = ('accuracy/top1', 'accuracy/top5',
                                    'val/cross_entropy')
_NON_METRIC_KEYS = {'step', 'time', 'data_time'}


class RunDirError(FileNotFoundError):
    """A folder is not an mmengine training run (no scalars to read)."""


@dataclass
class EpochRecord:
    """Per-epoch numbers of a run; ``None`` where the epoch has no value.

    ``train_loss`` is the mean of the training losses logged in that epoch
    (each one mmengine's running mean over its logging window), i.e. the
    epoch's training loss up to sampling.
    """
    epoch: int
    train_loss: Optional[float] = None
    val_loss: Optional[float] = None
    top1: Optional[float] = None
    top5: Optional[float] = None
    val_metrics: Dict[str, float] = field(default_factory=dict)

    @property
    def val_error(self) -> Optional[float]:
        return None if self.top1 is None else 100.0 - self.top1


@dataclass
class RunLog:
    """Everything :func:`load_run` read from a run directory."""
    run_dir: str
    name: str
    config_name: str
    config_path: Optional[str]
    sessions: List[str]
    epochs: List[EpochRecord]
    wall_time: Optional[float]  # seconds, summed over training sessions

    @property
    def val_epochs(self) -> List[EpochRecord]:
        return [e for e in self.epochs if e.top1 is not None]

    @property
    def trained_epochs(self) -> int:
        trained = [e.epoch for e in self.epochs if e.train_loss is not None]
        return max(trained, default=0)

    @property
    def best(self) -> Optional[EpochRecord]:
        """The validation epoch with the highest top-1 (earliest on ties)."""
        return max(
            self.val_epochs, key=lambda e: (e.top1, -e.epoch), default=None)

    @property
    def last(self) -> Optional[EpochRecord]:
        return self.val_epochs[-1] if self.val_epochs else None

    def load_config(self) -> Config:
        if self.config_path is None:
            raise RunDirError(f'No config copy found in {self.run_dir}')
        return Config.fromfile(self.config_path)


def read_scalars(path: str) -> List[dict]:
    """Rows of a ``scalars.json``; a line cut short by a killed run is
    skipped."""
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return rows


def is_train_row(row: dict) -> bool:
    return 'iter' in row and 'loss' in row


def find_sessions(run_dir: str) -> List[str]:
    """Session folders of a run, oldest first (``run_dir`` itself if it is
    one)."""
    if osp.isfile(osp.join(run_dir, 'vis_data', 'scalars.json')):
        return [run_dir]
    sessions = [
        p for p in glob.glob(osp.join(run_dir, '*'))
        if SESSION_PATTERN.match(osp.basename(p))
        and osp.isfile(osp.join(p, 'vis_data', 'scalars.json'))
    ]
    return sorted(sessions)


def is_training_run(run_dir: str) -> bool:
    """Whether any session of ``run_dir`` logged training iterations."""
    return any(
        any(is_train_row(r) for r in read_scalars(_scalars_path(s)))
        for s in find_sessions(run_dir))


def find_runs(work_dirs: str) -> List[str]:
    """Training-run folders under ``work_dirs`` (itself included), sorted.

    Folders that only hold test sessions (``tools/test.py --work-dir``) are
    skipped; session folders are not searched further.
    """
    runs = []
    for root, dirs, _ in os.walk(work_dirs):
        if find_sessions(root) and is_training_run(root):
            runs.append(root)
        dirs[:] = sorted(d for d in dirs if not SESSION_PATTERN.match(d))
    return sorted(runs)


def _scalars_path(session: str) -> str:
    return osp.join(session, 'vis_data', 'scalars.json')


def session_duration(session: str) -> Optional[float]:
    """Seconds between the first and last timestamped line of the session
    log."""
    logs = glob.glob(osp.join(session, '*.log'))
    if not logs:
        return None
    stamps = []
    with open(logs[0], errors='replace') as f:
        for line in f:
            match = LOG_TIME_PATTERN.match(line)
            if match:
                stamps.append(match.group(1))
    if len(stamps) < 2:
        return None
    fmt = '%Y/%m/%d %H:%M:%S'
    start = datetime.datetime.strptime(stamps[0], fmt)
    end = datetime.datetime.strptime(stamps[-1], fmt)
    return (end - start).total_seconds()


def _config_copy(run_dir: str, sessions: List[str]):
    """(name, path) of the run's config: the copy mmengine dumps in the work
    dir, else the one in the newest session's ``vis_data``."""
    root = run_dir if not SESSION_PATTERN.match(
        osp.basename(run_dir)) else osp.dirname(run_dir)
    copies = sorted(glob.glob(osp.join(root, '*.py')), key=osp.getmtime)
    session_cfgs = [
        osp.join(s, 'vis_data', 'config.py') for s in reversed(sessions)
    ]
    session_cfgs = [p for p in session_cfgs if osp.isfile(p)]
    path = session_cfgs[0] if session_cfgs else (
        copies[-1] if copies else None)
    name = osp.splitext(osp.basename(copies[-1]))[0] if copies else None
    return name, path


def load_run(run_dir: str, name: Optional[str] = None) -> RunLog:
    """Merge the scalars of all sessions of a run into per-epoch records.

    Later sessions win where they repeat an iteration or an epoch (a run
    resumed from an earlier checkpoint logs those again).

    Args:
        run_dir (str): The work dir of a run (or one session folder).
        name (str, optional): Display name; defaults to the folder name.

    Raises:
        RunDirError: if no session folder with ``scalars.json`` exists.
    """
    run_dir = osp.normpath(run_dir)
    sessions = find_sessions(run_dir)
    if not sessions:
        raise RunDirError(f'{run_dir} is not an mmengine run directory: '
                          'no <timestamp>/vis_data/scalars.json inside '
                          '(pass the --work-dir of a training run)')
    train_by_iter, val_by_epoch, wall_time, timed = {}, {}, 0.0, False
    for session in sessions:
        rows = read_scalars(_scalars_path(session))
        has_train = False
        for row in rows:
            if is_train_row(row):
                has_train = True
                if 'epoch' in row:
                    train_by_iter[row['iter']] = row
            elif row.get('step', 0) >= 1 and any(k not in _NON_METRIC_KEYS
                                                 for k in row):
                val_by_epoch[int(row['step'])] = row
        duration = session_duration(session) if has_train else None
        if duration is not None:
            wall_time, timed = wall_time + duration, True

    losses: Dict[int, List[float]] = {}
    for row in train_by_iter.values():
        losses.setdefault(int(row['epoch']), []).append(float(row['loss']))
    epochs = []
    for epoch in sorted(set(losses) | set(val_by_epoch)):
        record = EpochRecord(epoch)
        if epoch in losses:
            record.train_loss = sum(losses[epoch]) / len(losses[epoch])
        val = val_by_epoch.get(epoch)
        if val is not None:
            record.val_metrics = {
                k: float(v)
                for k, v in val.items() if k not in _NON_METRIC_KEYS
            }
            record.top1 = record.val_metrics.get(TOP1_KEY)
            record.top5 = record.val_metrics.get(TOP5_KEY)
            record.val_loss = record.val_metrics.get(VAL_LOSS_KEY)
        epochs.append(record)
    config_name, config_path = _config_copy(run_dir, sessions)
    display = name or osp.basename(run_dir)
    return RunLog(
        run_dir=run_dir,
        name=display,
        config_name=config_name or display,
        config_path=config_path,
        sessions=sessions,
        epochs=epochs,
        wall_time=wall_time if timed else None)


def find_checkpoint(run_dir: str, which: str = 'best') -> Optional[str]:
    """Path of the run's best (``best_*.pth``) or last checkpoint.

    ``which='best'`` falls back to the last checkpoint when the run did not
    save a best one; the last one is read from mmengine's
    ``last_checkpoint`` file, else the highest ``epoch_*.pth``/``iter_*.pth``.
    """
    if which not in ('best', 'last'):
        raise ValueError(f'which must be "best" or "last", got {which!r}')
    if which == 'best':
        best = sorted(
            glob.glob(osp.join(run_dir, 'best_*.pth')), key=osp.getmtime)
        if best:
            return best[-1]
    pointer = osp.join(run_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer) as f:
            recorded = f.read().strip()
        for candidate in (recorded, osp.join(run_dir, osp.basename(recorded))):
            if candidate and osp.isfile(candidate):
                return candidate

    def number(path):
        digits = re.findall(r'\d+', osp.basename(path))
        return int(digits[-1]) if digits else -1

    saved = glob.glob(osp.join(run_dir, 'epoch_*.pth')) + glob.glob(
        osp.join(run_dir, 'iter_*.pth'))
    return max(saved, key=number) if saved else None
