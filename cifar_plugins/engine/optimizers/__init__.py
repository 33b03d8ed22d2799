from .autocast_optim_wrapper import AutocastOptimWrapper
from .precision import (choose_autocast_dtype, cpu_bf16_supported, cuda_bf16_supported,
                        resolve_autocast_dtype)

__all__ = ['AutocastOptimWrapper', 'choose_autocast_dtype', 'resolve_autocast_dtype',
           'cpu_bf16_supported', 'cuda_bf16_supported']
