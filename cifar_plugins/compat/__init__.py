"""Fixes for known breakages of the torch>=2.6 / mmengine 0.10.7 stack,
and atomic checkpoint writes.

Importing :mod:`cifar_plugins` applies them once; each patch is idempotent.
"""
from .atomic_write import atomic_put, atomic_write_bytes, patch_atomic_writes
from .checkpoint import (SAFE_GLOBALS, CheckpointLoadError,
                         install_safe_loading, safe_load_from_local)
from .default_hooks import patch_default_hooks
from .distributed import patch_distributed
from .sync_batchnorm import CPUSyncBatchNorm, patch_sync_batchnorm

install_safe_loading()
patch_distributed()
patch_atomic_writes()
patch_default_hooks()
patch_sync_batchnorm()

__all__ = [
    'CheckpointLoadError', 'SAFE_GLOBALS', 'install_safe_loading',
    'safe_load_from_local', 'patch_distributed', 'atomic_put',
    'atomic_write_bytes', 'patch_atomic_writes', 'patch_default_hooks',
    'CPUSyncBatchNorm', 'patch_sync_batchnorm'
]
