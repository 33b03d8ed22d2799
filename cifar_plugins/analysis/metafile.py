"""Write measured results into an mmpretrain-format ``metafile.yml``.

The metafiles carry header comments that explain how the numbers were
measured, and a YAML round trip would drop them, so entries are edited as
text: the ``Results`` block of an entry is replaced (or inserted before its
``Config:`` line) and everything else is kept byte for byte. The new file is
parsed before it atomically replaces the old one, so a failed update leaves
the old file.

As in mmpretrain's metafiles, ``Dataset`` is the dataset's name only
(``CIFAR-10`` or ``CIFAR-100``); how the numbers were measured goes into the
metric names (e.g. ``Top 1 Accuracy (CPU budget)``) and the folder README.
"""
import json
import os.path as osp
import re
from typing import Dict, List, Optional, Sequence

import yaml

from cifar_plugins.compat import atomic_write_bytes

DATASET_NAMES = (('CIFAR100', 'CIFAR-100'), ('CIFAR10', 'CIFAR-10'))
_NAME = re.compile(r'^(\s*)- Name:\s*(\S.*?)\s*$')


def _entry_spans(lines: Sequence[str]) -> List[tuple]:
    """(start, end, key indent) of every ``- Name:`` entry of ``Models:``."""
    try:
        models_at = next(i for i, line in enumerate(lines)
                         if line.rstrip() == 'Models:')
    except StopIteration:
        raise ValueError(
            'metafile has no top-level "Models:" section') from None
    starts = [(i, len(m.group(1)) + 2) for i, line in enumerate(lines)
              if i > models_at and (m := _NAME.match(line))]
    return [(start, starts[k + 1][0] if k + 1 < len(starts) else len(lines),
             indent) for k, (start, indent) in enumerate(starts)]


def _key_value(line: str, indent: int):
    """``(key, value)`` of a ``key: value`` line at ``indent`` spaces.

    None for any other line.
    """
    match = re.match(r' {%d}(\S[^:]*):(.*)$' % indent, line)
    return (match.group(1), match.group(2).strip()) if match else None


def _key(line: str, indent: int):
    key_value = _key_value(line, indent)
    return key_value[0] if key_value else None


def dataset_name(dataset_type: Optional[str]) -> str:
    """The metafile ``Dataset`` of a dataset type.

    Args:
        dataset_type (str, optional): A run's dataset type, e.g.
            ``VerifiedCIFAR10`` or mmpretrain's ``CIFAR100``.

    Returns:
        str: ``CIFAR-10`` or ``CIFAR-100``.

    Raises:
        ValueError: The type names neither dataset.
    """
    key = re.sub(r'[^A-Z0-9]', '', (dataset_type or '').upper())
    for marker, name in DATASET_NAMES:
        if marker in key:
            return name
    raise ValueError(f'Cannot tell whether dataset {dataset_type!r} is '
                     f'CIFAR-10 or CIFAR-100')


def metric_name(metric: str, protocol: Optional[str] = None) -> str:
    """``metric``, followed by ``(protocol)`` when one is given.

    Args:
        metric (str): e.g. ``Top 1 Accuracy``.
        protocol (str, optional): How the numbers were measured, e.g.
            ``CPU budget``.

    Returns:
        str: The metric's name in the metafile.
    """
    return f'{metric} ({protocol})' if protocol else metric


def _yaml_key(name: str) -> str:
    """``name`` as a YAML key: plain if it can be, else double-quoted."""
    if re.fullmatch(r'[A-Za-z0-9][\w .,()+/-]*', name):
        return name
    return json.dumps(name)  # a JSON string is a valid double-quoted scalar


def _results_block(indent: str, row: Dict,
                   protocol: Optional[str]) -> List[str]:
    scores = [('Top 1 Accuracy', row['last_top1']),
              ('Top 5 Accuracy', row.get('last_top5'))]
    metrics = [
        f'{indent}      {_yaml_key(metric_name(name, protocol))}: '
        f'{value:.2f}\n' for name, value in scores if value is not None
    ]
    return [
        f'{indent}Results:\n', f'{indent}  - Task: Image Classification\n',
        f'{indent}    Dataset: {dataset_name(row.get("dataset"))}\n',
        f'{indent}    Metrics:\n', *metrics
    ]


def _rewrite_entry(entry: List[str], indent: int,
                   block: List[str]) -> List[str]:
    """The entry with its Results block replaced by ``block``.

    The block goes before ``Config:`` (at the end without one).
    """
    out, skipping = [], False
    for line in entry:
        name = _key(line, indent)
        if skipping and name is None:
            continue  # inside the old Results block (deeper indent or blank)
        skipping = name == 'Results'
        if skipping:
            continue
        if name == 'Config':
            out.extend(block)
        out.append(line)
    if not any(_key(line, indent) == 'Config' for line in entry):
        out.extend(block)
    return out


def write_metafile_results(metafile: str,
                           rows: Sequence[Dict],
                           protocol: Optional[str] = None) -> List[str]:
    """Set the ``Results`` of the metafile entries that the rows measured.

    An entry matches a row of :func:`collect_results` when the file name of
    its ``Config`` (without ``.py``) is the row's ``config`` (the name of the
    run's dumped config; :mod:`tools.sweep` keeps the config's name). The
    row's last validation top-1/top-5 are written, i.e. the final model, which
    is what testing the last checkpoint reports, with ``Dataset`` named after
    the row's dataset (``CIFAR-10`` or ``CIFAR-100``).

    Args:
        metafile (str): Path of the ``metafile.yml`` to update in place.
        rows (Sequence[Dict]): Rows of :func:`collect_results`.
        protocol (str, optional): How the numbers were measured, added to
            the metric names: ``'CPU budget'`` writes
            ``Top 1 Accuracy (CPU budget)``. The folder README should say
            what it means. Defaults to None (``Top 1 Accuracy``).

    Returns:
        List[str]: Names of the updated entries.

    Raises:
        ValueError: the metafile has no ``Models:`` section, two rows
            measure the same config, or a row's dataset is not CIFAR-10/100.
    """
    by_config = {}
    for row in rows:
        if row.get('last_top1') is None or not row.get('config'):
            continue
        if row['config'] in by_config:
            raise ValueError(
                f'Runs {by_config[row["config"]]["run"]!r} and {row["run"]!r} '
                f'both measure config {row["config"]!r}; pass one of them.')
        by_config[row['config']] = row
    with open(metafile) as f:
        lines = f.readlines()
    out, updated, done = [], [], 0
    for start, end, indent in _entry_spans(lines):
        out.extend(lines[done:start])
        entry = lines[start:end]
        config = next(
            (kv[1] for kv in (_key_value(line, indent)
                              for line in entry) if kv and kv[0] == 'Config'),
            '')
        row = by_config.get(osp.splitext(osp.basename(config))[0])
        if row is None:
            out.extend(entry)
        else:
            block = _results_block(' ' * indent, row, protocol)
            out.extend(_rewrite_entry(entry, indent, block))
            updated.append(_NAME.match(entry[0]).group(2))
        done = end
    out.extend(lines[done:])
    text = ''.join(out)
    # never replace a good metafile with one that does not parse
    yaml.safe_load(text)
    atomic_write_bytes(text.encode(), metafile)
    return updated
