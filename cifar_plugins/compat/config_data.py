"""Read the config text stored in a checkpoint as data, never as code.

mmengine saves ``cfg.pretty_text`` in ``meta['cfg']`` of every checkpoint.
``Config.fromstring(text, '.py')`` would *execute* that text, so a checkpoint
that passes the weights-only allowlist could still run anything through its
config. :func:`config_from_text` parses it with :mod:`ast` and accepts only
what ``pretty_text`` produces: ``name = value`` statements whose values are
literals, lists, tuples, sets, dicts and ``dict({...}, key=value, ...)`` calls.
Any other construct (an import, another call, an attribute, an operator)
refuses the whole text.
"""
import ast
import math

from mmengine.config import Config

from .checkpoint import CheckpointLoadError

_NAMED_FLOATS = {'inf': math.inf, 'nan': math.nan}


class _NotData(ValueError):
    """The text holds something other than a literal config."""


def _value(node):
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        items = [_value(elt) for elt in node.elts]
        return {
            ast.List: list,
            ast.Tuple: tuple,
            ast.Set: set
        }[type(node)](
            items)
    if isinstance(node, ast.Dict):
        if any(key is None for key in node.keys):
            raise _NotData('"**" in a dict literal')
        return {_value(k): _value(v) for k, v in zip(node.keys, node.values)}
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
            and node.func.id == 'dict' and len(node.args) <= 1:
        # pretty_text writes dict(k=v) and, for keys that are not names,
        # dict({...})
        if any(kw.arg is None for kw in node.keywords):
            raise _NotData('"**" in dict(...)')
        result = _value(node.args[0]) if node.args else {}
        if not isinstance(result, dict):
            raise _NotData(
                f'dict() of a {type(result).__name__} at line {node.lineno}')
        result.update({kw.arg: _value(kw.value) for kw in node.keywords})
        return result
    if isinstance(node, ast.UnaryOp) and isinstance(node.op,
                                                    (ast.USub, ast.UAdd)):
        operand = _value(node.operand)
        if isinstance(operand,
                      (int, float, complex)) and not isinstance(operand, bool):
            return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.Name) and node.id in _NAMED_FLOATS:
        return _NAMED_FLOATS[node.id]
    raise _NotData(
        f'{type(node).__name__} at line {getattr(node, "lineno", "?")}')


def parse_config_text(text):
    """``dict`` of the top-level assignments in ``text``, evaluated as
    literals.

    Args:
        text (str): Python config text such as mmengine's ``pretty_text``.

    Returns:
        dict: Variable name -> value.

    Raises:
        ValueError: if ``text`` is not valid Python or holds anything but
            literal assignments to plain names.
    """
    try:
        tree = ast.parse(text, mode='exec')
    except SyntaxError as err:
        raise _NotData(
            f'not valid Python ({err.msg}, line {err.lineno})') from None
    result = {}
    for stmt in tree.body:
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Name)):
            raise _NotData(
                f'{type(stmt).__name__} statement at line {stmt.lineno}')
        result[stmt.targets[0].id] = _value(stmt.value)
    return result


def config_from_text(text, source='the checkpoint'):
    """A :class:`Config` from config text stored in a checkpoint, without
    running it.

    Args:
        text (str): The stored text (``meta['cfg']``).
        source (str): Where it came from, for the error message.

    Returns:
        Config: The config; ``custom_imports`` in it is not acted on.

    Raises:
        CheckpointLoadError: if the text is not a plain literal config.
    """
    if not isinstance(text, str):
        raise CheckpointLoadError(
            f'The config stored in {source} is a {type(text).__name__}, '
            'not config text; pass the config file with --config.')
    try:
        return Config(parse_config_text(text))
    except (ValueError, TypeError) as err:
        raise CheckpointLoadError(
            f'Refused the config stored in {source}: it is not a '
            f'plain data config ({err}), and stored configs are never '
            'executed. Pass the config file with --config.') from None
