"""matplotlib figures that never need a display.

Figures are made with :class:`matplotlib.figure.Figure` directly, not
``pyplot``: ``savefig`` then renders with the Agg canvas whatever backend is
active, no window is opened, nothing is left in pyplot's global state, and a
notebook that imports this module keeps its own backend.
"""
import os
import os.path as osp
from typing import Tuple

from matplotlib.figure import Figure

DPI = 100


def new_figure(figsize: Tuple[float, float] = (7.0, 4.5),
               nrows: int = 1,
               ncols: int = 1,
               **kwargs):
    """A ``(figure, axes)`` pair, like ``plt.subplots`` but without pyplot."""
    fig = Figure(figsize=figsize, dpi=DPI)
    return fig, fig.subplots(nrows, ncols, squeeze=True, **kwargs)


def save_figure(fig: Figure, path: str) -> str:
    """Save ``fig`` (PNG by the extension) with a tight layout; returns
    ``path``."""
    parent = osp.dirname(osp.abspath(path))
    os.makedirs(parent, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    return path
