"""Atomic local writes for mmengine's file backend.

mmengine serialises a checkpoint in memory and then ``LocalBackend.put``
writes it with ``open(path, 'wb')``: an interrupted write (killed job, full
disk) leaves a truncated file, and if a file of that name existed (a
``best_*.pth``, or a re-run into the same work dir) the good copy is already
gone. We write to a temporary file in the same folder and ``os.replace`` it
onto the target, so a reader sees the old file or the complete new one.
"""
import os
import os.path as osp
import re
import tempfile

import mmengine
from mmengine.fileio.backends.local_backend import LocalBackend

_PATCHED = '_cifar_plugins_atomic'
TEMP_SUFFIX = '.cifar-plugins.tmp'
# this pattern, and the one of earlier versions (``.epoch_3.pthXXXXXXXX.tmp``)
_OWN_TEMPORARY = re.compile(r'^\..+(' + re.escape(TEMP_SUFFIX) +
                            r'|\.pth\w{8}\.tmp)$')


def is_own_temporary(name):
    """Whether a file name is one of :func:`atomic_write_bytes`'s
    temporaries."""
    return bool(_OWN_TEMPORARY.match(name))


def atomic_write_bytes(data: bytes, filepath) -> None:
    """Write ``data`` to ``filepath`` atomically (temp file in the same folder
    + rename)."""
    filepath = str(filepath)
    folder = osp.dirname(osp.abspath(filepath))
    mmengine.mkdir_or_exist(folder)
    fd, tmp = tempfile.mkstemp(
        dir=folder, prefix=f'.{osp.basename(filepath)}.', suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp creates 0600 files; keep the mode a plain open() would give
        os.chmod(
            tmp,
            os.stat(filepath).st_mode
            & 0o777 if osp.exists(filepath) else 0o644)
        os.replace(tmp, filepath)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def atomic_put(self, obj, filepath):
    """``LocalBackend.put`` replacement: :func:`atomic_write_bytes` of
    ``obj``."""
    atomic_write_bytes(obj, filepath)


setattr(atomic_put, _PATCHED, True)


def patch_atomic_writes():
    """Route ``LocalBackend.put`` (checkpoints, dumps) through
    :func:`atomic_put`."""
    if not getattr(LocalBackend.put, _PATCHED, False):
        LocalBackend.put = atomic_put
