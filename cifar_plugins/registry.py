"""Registries of cifar-plugins: mmpretrain's own, so configs need no scope."""
from mmpretrain.registry import (DATASETS, HOOKS, METRICS, MODELS,
                                 OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS,
                                 OPTIMIZERS, TRANSFORMS)

__all__ = [
    'DATASETS', 'HOOKS', 'METRICS', 'MODELS', 'OPTIM_WRAPPER_CONSTRUCTORS',
    'OPTIM_WRAPPERS', 'OPTIMIZERS', 'TRANSFORMS'
]
