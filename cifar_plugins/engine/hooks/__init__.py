from .early_stopping_hook import ResumableEarlyStoppingHook
from .swa_hook import SWAHook

__all__ = ['ResumableEarlyStoppingHook', 'SWAHook']
