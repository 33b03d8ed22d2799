"""The attention unit of SegNeXt and LSKNet around a spatial attention
module."""
import torch.nn as nn

FORMS = ('unit', 'bare')


def check_form(name, form):
    """Validate ``form`` of :class:`~.MSCA` / :class:`~.LSKAttention`."""
    if form not in FORMS:
        raise ValueError(f'{name}: form must be one of {FORMS}, got {form!r}')


class AttentionUnitMixin:
    """``x + proj_out(core(GELU(proj_in(x))))`` for ``form='unit'``,
    ``core(x)`` for ``form='bare'`` (``core`` being the class's ``_core``).

    This is the ``Attention`` module of SegNeXt's MSCAN and of LSKNet
    (``proj_1`` 1x1 -> GELU -> spatial gating unit -> ``proj_2`` 1x1, plus the
    shortcut). Written here.
    """

    def _build_unit(self, channels, form):
        self.form = form
        if form == 'unit':
            self.proj_in = nn.Conv2d(channels, channels, 1)
            self.act = nn.GELU()
            self.proj_out = nn.Conv2d(channels, channels, 1)

    def forward(self, x):
        if self.form == 'bare':
            return self._core(x)
        return x + self.proj_out(self._core(self.act(self.proj_in(x))))
