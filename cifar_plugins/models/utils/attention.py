"""The one attention factory of cifar-plugins (timm ``create_attn``-style).

Every attention-style module (ECA, SE, MSCA, LSK, channel-group softmax, ...)
maps ``(N, C, H, W) -> (N, C, H, W)``, takes ``channels`` as its first argument
and is registered in ``MODELS`` with :func:`register_attention`. Blocks, stages
and necks build them only through :func:`build_attention`, so one config key
(``attention=dict(type='ECA', ...)`` or ``attention='eca'``) selects the module
everywhere.
"""
import torch.nn as nn

from cifar_plugins.registry import MODELS

# lower-case name or alias -> registered class name in MODELS
_ATTENTION_NAMES = {}

# lower-case names that were removed because they misnamed a module ->
# explanation
_RENAMED = {
    name:
    ("the former 'SplitAttention' was not ResNeSt's split attention (it gates "
     "the channel groups of one conv output); it is now 'ChannelGroupSoftmax' "
     "(alias 'group_softmax'). ResNeSt's split attention is the "
     "split-attention conv of block=dict(type='ResNeStBlock')")
    for name in ('splitattention', 'split', 'splat')
}


def register_attention(*aliases):
    """Class decorator: register an attention module for
    :func:`build_attention`.

    The class is registered in ``MODELS`` under its own name, and its name and
    ``aliases`` are accepted case-insensitively by :func:`build_attention`
    (e.g. ``'eca'`` for ``ECA``).

    Args:
        *aliases (str): Extra short names, e.g. ``'lsk'``.
    """

    def wrap(cls):
        keys = [name.lower() for name in (cls.__name__, *aliases)]
        for key in keys:
            if _ATTENTION_NAMES.get(key, cls.__name__) != cls.__name__:
                raise KeyError(
                    f'attention name {key!r} is already used by '
                    f'{_ATTENTION_NAMES[key]} in the MODELS registry')
        MODELS.register_module(module=cls)
        _ATTENTION_NAMES.update(dict.fromkeys(keys, cls.__name__))
        return cls

    return wrap


def attention_types():
    """Registered attention class names, each with its short aliases."""
    aliases = {}
    for key, name in sorted(_ATTENTION_NAMES.items()):
        names = aliases.setdefault(name, [])
        if key != name.lower():
            names.append(key)
    return aliases


def _resolve(attn_type):
    if isinstance(attn_type, type):
        return attn_type
    if not isinstance(attn_type, str):
        raise TypeError(
            f'attention type must be a str or a class, got {attn_type!r}')
    if attn_type.lower() in _RENAMED and attn_type.lower(
    ) not in _ATTENTION_NAMES:
        raise KeyError(
            f'attention type {attn_type!r} is not in the MODELS registry any '
            f'more: {_RENAMED[attn_type.lower()]}')
    name = _ATTENTION_NAMES.get(attn_type.lower(), attn_type)
    cls = MODELS.get(name)
    if cls is None:
        known = ', '.join(name +
                          (f' ({", ".join(map(repr, keys))})' if keys else '')
                          for name, keys in attention_types().items())
        raise KeyError(f'{attn_type!r} is not in the MODELS registry as '
                       'an attention type. Known attention types '
                       f'(aliases), case-insensitive: {known}')
    return cls


def build_attention(cfg, channels):
    """Build the attention module described by ``cfg`` for ``channels``
    channels.

    Args:
        cfg (dict | str | type | None): ``dict(type='ECA', **kwargs)``, a name
            (``'eca'``, ``'se'``, ``'msca'``, ``'lsk'``, ``'group_softmax'`` or
            any registered class name, case-insensitive), a module class, or
            ``None`` (also ``False`` / ``''``) for no attention.
        channels (int): Channels of the feature map the module is applied to;
            passed as the module's first argument (do not put it in ``cfg``).

    Returns:
        nn.Module: A module mapping ``(N, C, H, W)`` to ``(N, C, H, W)``;
        ``nn.Identity`` when ``cfg`` is empty.
    """
    if cfg is None or cfg is False or cfg == '':
        return nn.Identity()
    if isinstance(cfg, (str, type)):
        cfg = dict(type=cfg)
    elif isinstance(cfg, dict):
        cfg = dict(cfg)
    else:
        raise TypeError(
            f'attention must be a dict, a str, a class or None, got {cfg!r}')
    if 'type' not in cfg:
        raise KeyError(f'attention config {cfg} has no "type"')
    if 'channels' in cfg:
        raise ValueError(
            f'attention config {cfg} sets "channels"; the block or neck '
            f'passes the width of the feature map itself')
    cls = _resolve(cfg.pop('type'))
    return cls(channels, **cfg)
