"""Fixes for known breakages of the torch>=2.6 / mmengine 0.10.7 stack.

Importing :mod:`cifar_plugins` applies them once; each patch is idempotent.
"""
from .checkpoint import (CheckpointLoadError, SAFE_GLOBALS, install_safe_loading,
                         safe_load_from_local)
from .distributed import patch_distributed

install_safe_loading()
patch_distributed()

__all__ = ['CheckpointLoadError', 'SAFE_GLOBALS', 'install_safe_loading',
           'safe_load_from_local', 'patch_distributed']
