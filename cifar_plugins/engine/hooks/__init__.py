from .early_stopping_hook import ResumableEarlyStoppingHook
from .lookahead_hook import LookaheadHook
from .rng_state_hook import RNGStateHook
from .stale_temp_hook import StaleTempCleanupHook
from .swa_hook import SWAHook
from .whitening_hook import WhiteningInitHook

__all__ = ['LookaheadHook', 'ResumableEarlyStoppingHook', 'RNGStateHook',
           'StaleTempCleanupHook', 'SWAHook', 'WhiteningInitHook']
