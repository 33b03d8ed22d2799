"""Load mmengine checkpoints with ``torch.load(weights_only=True)``.

Since torch 2.6 ``torch.load`` defaults to ``weights_only=True``, whose
unpickler only rebuilds tensors, containers and an allowlist of globals. An
mmengine checkpoint also holds :class:`~mmengine.logging.HistoryBuffer`
objects (the message hub's scalars) and numpy arrays/scalars, so every load
fails. We keep ``weights_only=True`` and extend the allowlist with exactly
those data-only types: none of them runs code when rebuilt, so a hostile
pickle still cannot call ``os.system`` & co. Anything outside the list is
refused with :class:`CheckpointLoadError` before any of it executes.
"""
import os.path as osp
import pickle
import zipfile

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader


class CheckpointLoadError(RuntimeError):
    """A checkpoint is missing, corrupt, or references a non-allowlisted global."""


def _numpy_globals():
    """numpy's pickling helpers under both their numpy 1.x and 2.x names."""
    found = [np.ndarray, np.dtype]
    for mod_name in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        try:
            mod = __import__(mod_name, fromlist=['_reconstruct', 'scalar'])
        except ImportError:
            continue
        # torch's unpickler resolves globals by module path, so register each
        # alias explicitly (``numpy.core`` is a deprecated alias in numpy 2).
        for name in ('_reconstruct', 'scalar'):
            fn = getattr(mod, name)
            found.append((fn, f'{mod_name}.{name}'))
    # numpy>=1.25 pickles dtypes as instances of per-type classes
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        found += [getattr(dtypes, n) for n in dir(dtypes) if n.endswith('DType')]
    return found


def history_buffer_getattr(obj, name):
    """Stand-in for ``builtins.getattr`` while unpickling checkpoints.

    ``HistoryBuffer.__getstate__`` stores its statistics methods, which pickle
    as ``getattr(HistoryBuffer, 'mean')``. Allowlisting the real ``getattr``
    would let a crafted file walk from any allowed object to ``os.system``,
    so only those public statistics methods of HistoryBuffer resolve.
    """
    if (obj is HistoryBuffer and not name.startswith('_')
            and name in HistoryBuffer._statistics_methods
            and callable(getattr(HistoryBuffer, name, None))):
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'getattr({getattr(obj, "__name__", type(obj).__name__)}, {name!r}) is not '
        f'allowed in a checkpoint')


# HistoryBuffer's defaults are registered on first instantiation
HistoryBuffer()

SAFE_GLOBALS = ([HistoryBuffer, (history_buffer_getattr, 'builtins.getattr')]
                + _numpy_globals())


def install_safe_loading():
    """Allowlist mmengine's data-only types and route local loads through
    :func:`safe_load_from_local`."""
    torch.serialization.add_safe_globals(SAFE_GLOBALS)
    CheckpointLoader.register_scheme(
        prefixes='', loader=safe_load_from_local, force=True)


def safe_load_from_local(filename, map_location=None):
    """Load a local checkpoint with ``weights_only=True`` and explain failures.

    Replaces mmengine's loader for local paths, so ``load_from``, ``--resume``,
    ``tools/test.py`` and ``mim test`` all go through it.

    Args:
        filename (str): Path of the checkpoint.
        map_location (str | torch.device | callable, optional): As in
            :func:`torch.load`.

    Returns:
        dict: The loaded checkpoint.

    Raises:
        CheckpointLoadError: if the file is missing, truncated or not a torch
            checkpoint, or needs a global outside the allowlist.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise CheckpointLoadError(
            f'Checkpoint not found: {filename}. Check the path (training writes '
            f'work_dirs/<config name>/epoch_N.pth and last_checkpoint).')
    try:
        return torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointLoadError(
            f'Refused to load {filename}: it needs a Python object that is not '
            f'on the safe list, so it was not unpickled and none of its code ran.'
            f' If you trust the file and it only holds data, add that type with '
            f'torch.serialization.add_safe_globals. Details: {err}') from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError) as err:
        raise CheckpointLoadError(
            f'Cannot read checkpoint {filename}: the file is corrupt or truncated '
            f'(was it copied completely?). Details: {err}') from None

