"""Load mmengine checkpoints with ``torch.load(weights_only=True)`` on every
path.

Since torch 2.6 ``torch.load`` defaults to ``weights_only=True``, whose
unpickler only rebuilds tensors, containers and an allowlist of globals. An
mmengine checkpoint also holds :class:`~mmengine.logging.HistoryBuffer`
objects (the message hub's scalars) and numpy arrays/scalars, so every load
fails. We keep ``weights_only=True`` and extend the allowlist with exactly
those data-only types: none of them runs code when rebuilt, so a hostile
pickle still cannot call ``os.system`` & co. Anything outside the list is
refused with :class:`CheckpointLoadError` before any of it executes.

mmengine's ``CheckpointLoader`` picks a loader by URL scheme and its stock
remote loaders call ``torch.load`` (or ``torch.hub``) without
``weights_only``. :func:`install_safe_loading` replaces the loader of every
scheme mmengine knows (local paths, ``http(s)://``, ``torchvision://``,
``modelzoo://``, ``open-mmlab://``, ``openmmlab://``, ``mmcls://``,
``pavi://``, ``s3://``/``petrel://``) with one that fetches the bytes the same
way and then goes through :func:`safe_torch_load`, so every path ends in the
same loader with the same errors.
"""
import io
import logging
import os
import os.path as osp
import pickle
from collections.abc import Mapping
from tempfile import TemporaryDirectory
from urllib.parse import urlparse

import numpy as np
import torch
from mmengine.logging import HistoryBuffer, print_log
from mmengine.runner import checkpoint as mm_ckpt
from mmengine.runner.checkpoint import CheckpointLoader

SAFE_LOADER_FLAG = '_cifar_plugins_safe_loader'


class CheckpointLoadError(RuntimeError):
    """A checkpoint is missing, corrupt, or references a non-allowlisted
    global."""


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
        found += [
            getattr(dtypes, n) for n in dir(dtypes) if n.endswith('DType')
        ]
    return found


# The statistics methods HistoryBuffer defines itself. Fixed here, not read
# from ``HistoryBuffer._statistics_methods``, which any code (or, before
# :func:`_history_buffer_setstate`, any checkpoint) can extend.
HISTORY_BUFFER_METHODS = frozenset({'min', 'max', 'mean', 'current'})
_HISTORY_BUFFER_STATE = frozenset(
    {'_log_history', '_count_history', 'max_length'})


def history_buffer_getattr(obj, name):
    """Stand-in for ``builtins.getattr`` while unpickling checkpoints.

    ``HistoryBuffer.__getstate__`` stores its statistics methods, which pickle
    as ``getattr(HistoryBuffer, 'mean')``. Allowlisting the real ``getattr``
    would let a crafted file walk from any allowed object to ``os.system``
    (or call ``ndarray.tofile``), so only HistoryBuffer's own four statistics
    methods resolve.
    """
    if obj is HistoryBuffer and name in HISTORY_BUFFER_METHODS:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'getattr({getattr(obj, "__name__", type(obj).__name__)}, '
        f'{name!r}) is not allowed in a checkpoint')


def _history_buffer_setstate(self, state):
    """Restore a HistoryBuffer's data, never its class-level method table.

    mmengine's ``__setstate__`` merges the stored ``statistics_methods`` into
    the class-wide ``HistoryBuffer._statistics_methods``, so one loaded file
    could rebind ``mean`` (or add names) for every buffer and every later
    load. The table is process state, not checkpoint data: it is dropped.
    """
    if not isinstance(state, Mapping):
        raise pickle.UnpicklingError('HistoryBuffer state must be a dict')
    for key in _HISTORY_BUFFER_STATE:
        if key in state:
            self.__dict__[key] = state[key]


_history_buffer_setstate._cifar_plugins = True

# HistoryBuffer's defaults are registered on first instantiation
HistoryBuffer()

SAFE_GLOBALS = ([HistoryBuffer, (history_buffer_getattr, 'builtins.getattr')] +
                _numpy_globals())

# torch's weights-only unpickler messages for a global, call or build it
# refuses
_REFUSAL_MARKERS = ('unsupported global', 'not allowed in a checkpoint',
                    'unsupported operand', 'can only build',
                    'unrecognized function', 'allowed global', 'is blocked')


def _refusal_line(message):
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    return next(
        (line for line in lines if any(marker in line.lower()
                                       for marker in _REFUSAL_MARKERS)),
        lines[-1] if lines else 'refused by the weights-only unpickler')


def _describe(source):
    return source if isinstance(source, str) else getattr(
        source, 'name', 'the checkpoint')


def safe_torch_load(source, map_location=None, name=None):
    """``torch.load(weights_only=True)`` of a path or file object, with clear
    errors.

    Args:
        source (str | file-like): Local path or binary file object.
        map_location (str | torch.device | callable, optional): As in
            :func:`torch.load`.
        name (str, optional): How to call the checkpoint in messages (e.g.
            its URL). Defaults to the path.

    Returns:
        dict: The loaded checkpoint.

    Raises:
        CheckpointLoadError: if it is not a torch checkpoint, is truncated or
            corrupt, needs a global outside the allowlist, or is not a dict.
    """
    name = name or _describe(source)
    try:
        # weights_only is passed explicitly: TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD
        # only overrides loads that leave it out.
        checkpoint = torch.load(
            source, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        message = str(err)
        if any(marker in message.lower() for marker in _REFUSAL_MARKERS):
            raise CheckpointLoadError(
                f'Refused to load {name}: it needs a Python object that is '
                'not on the safe list, so it was not unpickled and none of '
                'its code ran. If you trust the file and it only holds data, '
                'add that type with torch.serialization.add_safe_globals. '
                f'Details: {_refusal_line(message)}') from None
        raise _corrupt(name, err) from None
    except MemoryError:
        raise
    # any parse failure of untrusted bytes means a bad file
    except Exception as err:
        raise _corrupt(name, err) from None
    if not isinstance(checkpoint, Mapping):
        raise CheckpointLoadError(
            f'Cannot use {name}: a checkpoint must hold a dict (state_dict, '
            f'meta, ...), this one holds a {type(checkpoint).__name__}.')
    for key in ('state_dict', 'meta', 'message_hub'):
        if key in checkpoint and not isinstance(checkpoint[key], Mapping):
            raise CheckpointLoadError(
                f'Cannot use {name}: its {key!r} is a '
                f'{type(checkpoint[key]).__name__}, not a dict; the file is '
                'corrupt or was not written by mmengine.')
    return checkpoint


def _corrupt(name, err):
    detail = str(err).strip().splitlines()
    detail = detail[-1] if detail else type(err).__name__
    return CheckpointLoadError(
        f'Cannot read checkpoint {name}: the file is corrupt or truncated '
        f'(was it copied completely?). Details: {detail}')


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
            f'Checkpoint not found: {filename}. Check the path (training '
            'writes work_dirs/<config name>/epoch_N.pth and last_checkpoint).')
    return safe_torch_load(filename, map_location)


def _download_to_cache(url, model_dir=None, progress=False):
    """Path of ``url`` in torch hub's cache (``<hub>/checkpoints/<name>``),
    downloading it first if absent (local rank 0 first under DDP)."""
    from mmengine.dist import get_dist_info
    model_dir = model_dir or osp.join(torch.hub.get_dir(), 'checkpoints')
    filename = osp.basename(urlparse(url).path)
    if not filename:
        raise CheckpointLoadError(f'Cannot load {url}: the URL names no file.')
    cached = osp.join(model_dir, filename)

    def fetch():
        if osp.isfile(cached):
            return
        os.makedirs(model_dir, exist_ok=True)
        print_log(f'Downloading {url} to {cached}', logger='current')
        try:
            torch.hub.download_url_to_file(url, cached, progress=progress)
        except (OSError, ValueError) as err:  # URLError/HTTPError are OSErrors
            raise CheckpointLoadError(
                f'Cannot download {url}: {err}. Check the '
                'URL and the network, or download the '
                'file yourself and pass its local path.') from None

    rank, world_size = get_dist_info()
    if rank == 0:
        fetch()
    if world_size > 1:
        torch.distributed.barrier()
        if rank > 0:
            fetch()
    return cached


def safe_load_from_http(filename,
                        map_location=None,
                        model_dir=None,
                        progress=False):
    """``http(s)://`` loader: download into torch hub's cache, then load
    safely."""
    return safe_torch_load(
        _download_to_cache(filename, model_dir, progress),
        map_location,
        name=filename)


def _lookup(table, model_name, scheme):
    try:
        return table[model_name]
    except KeyError:
        raise CheckpointLoadError(
            f'Unknown model name {scheme}{model_name}: '
            f'not in mmengine\'s model list for {scheme}. '
            'Check the name, or pass a local path or URL.') from None


def safe_load_from_torchvision(filename, map_location=None):
    """``torchvision://NAME`` (and deprecated ``modelzoo://NAME``) loader."""
    scheme = 'modelzoo://' if filename.startswith(
        'modelzoo://') else 'torchvision://'
    if scheme == 'modelzoo://':
        print_log(
            'The URL scheme of "modelzoo://" is deprecated, please use '
            '"torchvision://" instead',
            logger='current',
            level=logging.WARNING)
    model_name = filename[len(scheme):]
    url = _lookup(mm_ckpt.get_torchvision_models(), model_name, scheme)
    return safe_load_from_http(url, map_location=map_location)


def safe_load_from_openmmlab(filename, map_location=None):
    """``open-mmlab://NAME`` / ``openmmlab://NAME`` loader."""
    scheme = 'open-mmlab://' if filename.startswith(
        'open-mmlab://') else 'openmmlab://'
    model_name = filename[len(scheme):]
    model_name = mm_ckpt.get_deprecated_model_names().get(
        model_name, model_name)
    model_url = _lookup(mm_ckpt.get_external_models(), model_name, scheme)
    if model_url.startswith(('http://', 'https://')):
        return safe_load_from_http(model_url, map_location=map_location)
    return safe_load_from_local(
        osp.join(mm_ckpt._get_mmengine_home(), model_url), map_location)


def safe_load_from_mmcls(filename, map_location=None):
    """``mmcls://NAME`` loader (keys converted as mmengine does)."""
    model_name = filename[len('mmcls://'):]
    url = _lookup(mm_ckpt.get_mmcls_models(), model_name, 'mmcls://')
    return mm_ckpt._process_mmcls_checkpoint(
        safe_load_from_http(url, map_location=map_location))


def safe_load_from_pavi(filename, map_location=None):
    """``pavi://PATH`` loader: download with pavi's modelcloud, then load
    safely."""
    try:
        from pavi import modelcloud
    except ImportError:
        raise CheckpointLoadError(f'Cannot load {filename}: pavi is not '
                                  'installed (pip install pavi).') from None
    model = modelcloud.get(filename[len('pavi://'):])
    with TemporaryDirectory() as tmp_dir:
        downloaded = osp.join(tmp_dir, model.name)
        model.download(downloaded)
        return safe_torch_load(downloaded, map_location, name=filename)


def safe_load_from_ceph(filename, map_location=None, backend='petrel'):
    """``s3://`` / ``petrel://`` loader: bytes from the file backend, loaded
    safely."""
    from mmengine.fileio import get_file_backend
    file_backend = get_file_backend(
        filename, backend_args={'backend': backend})
    with io.BytesIO(file_backend.get(filename)) as buffer:
        return safe_torch_load(buffer, map_location, name=filename)


# mmengine's registered prefixes -> our loader for them
SAFE_SCHEME_LOADERS = {
    '': safe_load_from_local,
    ('http://', 'https://'): safe_load_from_http,
    ('modelzoo://', 'torchvision://'): safe_load_from_torchvision,
    ('open-mmlab://', 'openmmlab://'): safe_load_from_openmmlab,
    'mmcls://': safe_load_from_mmcls,
    'pavi://': safe_load_from_pavi,
    (r'(\S+\:)?s3://', r'(\S+\:)?petrel://'): safe_load_from_ceph,
}


def mark_safe_loader(loader):
    """Mark a checkpoint loader as ending in :func:`safe_torch_load` (or
    another weights-only reader), for :func:`unsafe_schemes`."""
    setattr(loader, SAFE_LOADER_FLAG, True)
    return loader


def unsafe_schemes():
    """Prefixes registered in ``CheckpointLoader`` whose loader is not one of
    ours."""
    return sorted(prefix
                  for prefix, loader in CheckpointLoader._schemes.items()
                  if not getattr(loader, SAFE_LOADER_FLAG, False))


def install_safe_loading():
    """Allowlist mmengine's data-only types and route every scheme mmengine's
    ``CheckpointLoader`` knows through the weights-only loader."""
    torch.serialization.add_safe_globals(SAFE_GLOBALS)
    if not getattr(HistoryBuffer.__setstate__, '_cifar_plugins', False):
        HistoryBuffer.__setstate__ = _history_buffer_setstate
    for prefixes, loader in SAFE_SCHEME_LOADERS.items():
        CheckpointLoader.register_scheme(
            prefixes=prefixes, loader=mark_safe_loader(loader), force=True)
    stray = unsafe_schemes()
    if stray:  # a scheme registered before us by another package
        print_log(
            'Checkpoint schemes without a weights-only loader (registered by '
            f'another package; loads through them are not checked): {stray}',
            logger='current',
            level=logging.WARNING)
