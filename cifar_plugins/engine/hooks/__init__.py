from .swa_hook import SWAHook

__all__ = ['SWAHook']
