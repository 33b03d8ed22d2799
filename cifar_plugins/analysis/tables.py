"""Write rows of results as markdown and CSV tables."""
import csv
import os
import os.path as osp
import re
from typing import Dict, List, Mapping, Optional, Sequence, Union

Digits = Union[int, Mapping[str, int]]
_INT = re.compile(r'^-?\d+$')
_FLOAT = re.compile(r'^-?\d+\.\d*(e-?\d+)?$')


def format_value(value, digits: int = 2) -> str:
    """Text of one cell: floats rounded, ``None`` as empty."""
    if value is None:
        return ''
    if isinstance(value, float):
        return f'{value:.{digits}f}'
    return str(value)


def format_duration(seconds: Optional[float]) -> str:
    """``h:mm:ss`` (empty when unknown)."""
    if seconds is None:
        return ''
    seconds = int(round(seconds))
    return f'{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}'


def _digits(digits: Digits, column: str, default: int) -> int:
    return digits.get(column, default) if isinstance(digits,
                                                     Mapping) else digits


def markdown_table(rows: Sequence[Dict],
                   columns: Sequence[str],
                   headers: Optional[Sequence[str]] = None,
                   digits: Digits = 2) -> str:
    """A GitHub-flavoured markdown table of ``rows`` (dicts) over ``columns``.

    Numeric columns are right-aligned; ``|`` in cells is escaped. ``digits``
    (decimals of floats) is one number or a ``{column: digits}`` map
    (default 2).
    """
    headers = list(headers or columns)
    numeric = [
        all(
            isinstance(r.get(c), (int, float)) or r.get(c) is None
            for r in rows) and any(r.get(c) is not None for r in rows)
        for c in columns
    ]
    lines = [
        '| ' + ' | '.join(headers) + ' |',
        '| ' + ' | '.join('---:' if n else '---' for n in numeric) + ' |'
    ]
    for row in rows:
        cells = [
            format_value(row.get(c), _digits(digits, c,
                                             2)).replace('|', '\\|')
            for c in columns
        ]
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'


def write_csv(rows: Sequence[Dict],
              columns: Sequence[str],
              path: str,
              digits: int = 4) -> str:
    """Write ``rows`` to ``path`` as CSV with a header row; returns
    ``path``."""
    _make_parent(path)
    with open(path, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(
                [format_value(row.get(c), digits) for c in columns])
    return path


def write_markdown(rows: Sequence[Dict],
                   columns: Sequence[str],
                   path: str,
                   headers: Optional[Sequence[str]] = None,
                   title: Optional[str] = None,
                   digits: Digits = 2) -> str:
    """Write a markdown table (with an optional ``# title``); returns
    ``path``."""
    _make_parent(path)
    with open(path, 'w') as f:
        if title:
            f.write(f'# {title}\n\n')
        f.write(markdown_table(rows, columns, headers, digits))
    return path


def read_csv(path: str) -> List[Dict]:
    """Rows of a CSV written by :func:`write_csv`: numbers back as int/float,
    empty cells as ``None``."""
    with open(path, newline='') as f:
        return [{
            k: _parse(v)
            for k, v in row.items()
        } for row in csv.DictReader(f)]


def _parse(text: str):
    if text == '':
        return None
    if _INT.match(text):
        return int(text)
    return float(text) if _FLOAT.match(text) else text


def _make_parent(path: str) -> None:
    parent = osp.dirname(osp.abspath(path))
    os.makedirs(parent, exist_ok=True)
