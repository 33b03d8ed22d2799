"""User errors: one ``ERROR: ...`` line and exit code 1; other errors keep
their traceback.

A *user error* is caused by what the user gave a tool (a config,
``--cfg-options``, a path, a file) and its message says what to change.
:func:`user_error_message` is the one place that decides whether an exception
is one and words it; the tools
(:func:`cifar_plugins.apis.runner.run_with_clear_errors`), the excepthook
installed when ``cifar_plugins`` is imported (so mmpretrain's own
``tools/train.py`` behind ``mim train`` gets it too) and the argument parsers
all go through it. Everything else (programming errors) keeps its traceback.
Set ``CIFAR_PLUGINS_TRACEBACK=1`` to see the traceback of user errors too.
"""
import argparse
import os
import os.path as osp
import re
import sys

from mmengine.config import DictAction as _MMEngineDictAction

TRACEBACK_ENV = 'CIFAR_PLUGINS_TRACEBACK'


class UserError(Exception):
    """Base of the errors whose message tells the user what to fix."""


class ConfigError(UserError, ValueError):
    """The config is inconsistent or invalid (e.g. head and dataset class
    counts differ)."""


class UsageError(UserError, ValueError):
    """A command-line value is wrong (e.g. a run name that matches no run)."""


class ImageReadError(UserError, ValueError):
    """An input file is not an image that can be read."""


def _extra_user_error_classes():
    classes = []
    # defined with the checkpoint loader, which is not imported by every tool
    try:
        from cifar_plugins.compat.checkpoint import CheckpointLoadError
        classes.append(CheckpointLoadError)
    except ImportError:  # pragma: no cover - partial installs
        pass
    return tuple(classes)


def _frames(err):
    """(filename, function name, frame) of the traceback, outermost first."""
    frames, tb = [], err.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        frames.append(
            (code.co_filename.replace('\\', '/'), code.co_name, tb.tb_frame))
        tb = tb.tb_next
    return frames


def _in(filename, module_path):
    return filename.endswith(module_path)


_CONFIG_PY = 'mmengine/config/config.py'
_BUILD_PY = 'mmengine/registry/build_functions.py'
_CALL_ERROR = re.compile(
    r'unexpected keyword argument|missing \d+ required (positional|keyword)'
    r'|takes \d+ positional argument|positional arguments? but \d+')
_BUILD_PREFIX = re.compile(
    r'^class `[^`]+` in [^:]+: ')  # older mmengine wraps build errors


def _config_file_message(err, frames):
    """Errors raised while mmengine reads a config file (syntax, missing file,
    its code)."""
    config_frames = [(i, f) for i, f in enumerate(frames)
                     if _in(f[0], _CONFIG_PY)]
    if not config_frames:
        return None
    index, (_, _, frame) = config_frames[-1]
    if index == len(frames) - 1 and any(f[1] == 'merge_from_dict'
                                        for _, f in config_frames):
        return f'invalid --cfg-options: {err}'
    filename = frame.f_locals.get('filename')
    if not isinstance(filename, str):
        return None
    if isinstance(err, SyntaxError):
        # mmengine re-raises some as "There are syntax errors in config file
        # ...: <original>"
        orig = err.__context__ if isinstance(err.__context__,
                                             SyntaxError) else err
        line = f' line {orig.lineno}' if orig.lineno else ''
        filename = osp.normpath(filename)
        return (f'config file {filename}{line}: syntax error: {orig.msg}. '
                'Fix the config file.')
    if isinstance(err, FileNotFoundError) and index == len(frames) - 1:
        return (f'config file not found: {err.filename or filename}. '
                'Check the path.')
    if index == len(frames) - 2 and frames[-1][1] == '<module>':
        # raised by the config's own code (e.g. a NameError), which mmengine
        # executes
        inner_file, _, inner_frame = frames[-1]
        inner_file = osp.normpath(inner_file)
        return (f'config file {inner_file} line {inner_frame.f_lineno}: '
                f'{type(err).__name__}: {err}. Fix the config file.')
    return None


def _build_call_message(err, frames):
    """TypeError of calling a registered class with the config's keys."""
    if not isinstance(err, TypeError) or not frames:
        return None
    filename, func, frame = frames[-1]
    if not (_in(filename, _BUILD_PY) and func == 'build_from_cfg'):
        return None
    msg = _BUILD_PREFIX.sub('', str(err))
    if not _CALL_ERROR.search(msg):
        return None
    obj_type = frame.f_locals.get('obj_type')
    name = obj_type if isinstance(obj_type, str) else getattr(
        obj_type, '__name__', '?')
    return (f'cannot build type={name!r} from the config: {msg}. Remove '
            'or rename that key in the config (or in --cfg-options).')


def _dataloader_message(err, frames):
    """Invalid dataloader arguments from the config, refused by torch's
    DataLoader/samplers."""
    if not isinstance(err, (ValueError, TypeError)) or not frames:
        return None
    if not (_in(frames[-1][0], 'torch/utils/data/dataloader.py')
            or _in(frames[-1][0], 'torch/utils/data/sampler.py')):
        return None
    if not any(
            _in(f, 'mmengine/runner/runner.py') and func == 'build_dataloader'
            for f, func, _ in frames):
        return None
    return (f'invalid dataloader settings in the config: {err}. '
            'Fix the *_dataloader keys (e.g. with --cfg-options).')


def user_error_message(err):
    """The one-line message of a user error, or None for any other exception.

    Args:
        err (BaseException): The exception.

    Returns:
        str | None: The message (without ``ERROR: ``), None when ``err``
        is a programming error or ``CIFAR_PLUGINS_TRACEBACK=1`` is set.
    """
    if os.environ.get(TRACEBACK_ENV,
                      '') not in ('', '0') or not isinstance(err, Exception):
        return None
    frames = _frames(err)
    if isinstance(err, (UserError, *_extra_user_error_classes())):
        msg = str(err)
    else:
        msg = (
            _config_file_message(err, frames)
            or _build_call_message(err, frames)
            or _dataloader_message(err, frames))
        if msg is None and isinstance(err, KeyError):
            text = str(err.args[0]) if err.args else ''
            if ' is not in the ' in text and 'registry' in text:
                text = text.split('. Please check', 1)[0]
                msg = (f'unknown module type: {text}. Check the '
                       'spelling of that type in the config, or add the '
                       'package that registers it to custom_imports.')
        if msg is None and isinstance(err, FileNotFoundError):
            msg = (f'{err.strerror}: {err.filename}'
                   if err.filename and err.strerror else str(err))
    if msg is None:
        return None
    return ' '.join(msg.split()) or type(err).__name__


def print_user_error(msg, file=None):
    """Print ``ERROR: msg`` as one line on stderr."""
    print(f'ERROR: {msg}', file=file or sys.stderr, flush=True)


def _excepthook(exc_type, exc, tb):
    msg = user_error_message(exc) if exc is not None else None
    if msg is None:
        _excepthook.previous(exc_type, exc, tb)
    else:
        print_user_error(msg)


def install_excepthook():
    """Make uncaught user errors one ``ERROR:`` line (the exit code stays 1).

    Other exceptions go to the previous ``sys.excepthook`` (the traceback).
    Installing twice is a no-op.
    """
    if sys.excepthook is not _excepthook:
        _excepthook.previous = sys.excepthook
        sys.excepthook = _excepthook


def key_value(text):
    """Check one ``KEY=VALUE`` override and return it unchanged.

    Args:
        text (str): The override as typed.

    Raises:
        argparse.ArgumentTypeError: without ``=`` or with an empty key.
    """
    key, sep, _ = text.partition('=')
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(
            f'expected KEY=VALUE (e.g. train_cfg.max_epochs=2), got {text!r}')
    return text


class DictAction(_MMEngineDictAction):
    """mmengine's ``DictAction`` that reports a malformed ``KEY=VALUE`` as a
    usage error."""

    def __call__(self, parser, namespace, values, option_string=None):
        for text in [values] if isinstance(values, str) else (values or []):
            try:
                key_value(text)
            except argparse.ArgumentTypeError as err:
                raise argparse.ArgumentError(self, str(err)) from None
        super().__call__(parser, namespace, values, option_string)


class ArgumentParser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` whose usage errors are one ``ERROR:`` line
    and exit 1."""

    def error(self, message):
        """Print ``ERROR: message (see PROG --help)`` and exit with code 1.

        Args:
            message (str): argparse's description of the problem.
        """
        print_user_error(f'{message} (see {osp.basename(self.prog)} --help)')
        sys.exit(1)
