"""cifar-plugins: MMPretrain components, configs and tools for CIFAR-10/100.

Importing this package (configs do it through ``custom_imports``) registers
every component in mmpretrain's registries and applies the fixes in
:mod:`cifar_plugins.compat` (safe checkpoint loading, CPU multi-process).
"""
from . import compat  # noqa: F401  (apply stack fixes first)
from . import datasets, engine, evaluation, models  # noqa: F401
from .version import __version__

__all__ = ['__version__']
