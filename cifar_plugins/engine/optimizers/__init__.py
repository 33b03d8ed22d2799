from .autocast_optim_wrapper import AutocastOptimWrapper
from .merged_groups_constructor import (MergedGroupsOptimWrapperConstructor,
                                        merge_param_groups)
from .muon import MuonSGD, orthogonalize
from .precision import (choose_autocast_dtype, cpu_bf16_supported,
                        cuda_bf16_supported, resolve_autocast_dtype)

__all__ = [
    'AutocastOptimWrapper', 'MergedGroupsOptimWrapperConstructor',
    'merge_param_groups', 'MuonSGD', 'orthogonalize', 'choose_autocast_dtype',
    'resolve_autocast_dtype', 'cpu_bf16_supported', 'cuda_bf16_supported'
]
