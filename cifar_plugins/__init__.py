"""cifar-plugins: MMPretrain components, configs and tools for CIFAR-10/100.

Importing this package (configs do it through ``custom_imports``) registers
every component in mmpretrain's registries, applies the fixes in
:mod:`cifar_plugins.compat` (safe checkpoint loading, CPU multi-process) and
makes uncaught user errors one ``ERROR:`` line (:mod:`cifar_plugins.errors`).
"""
from .errors import install_excepthook

install_excepthook()  # before anything that can fail on a user's input

from . import compat  # apply the stack fixes first
from . import datasets, engine, evaluation, models  # noqa: F401
from .version import __version__

__all__ = ['__version__']
