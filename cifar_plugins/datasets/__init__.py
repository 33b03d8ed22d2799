from .batched import InMemoryBatchDataset, batch_passthrough
from .cifar import VerifiedCIFAR10, VerifiedCIFAR100
from .cifar_files import CIFARDataError, load_split, verify
from .transforms import *  # noqa: F401,F403

__all__ = [
    'InMemoryBatchDataset', 'batch_passthrough', 'VerifiedCIFAR10',
    'VerifiedCIFAR100', 'CIFARDataError', 'load_split', 'verify'
]
