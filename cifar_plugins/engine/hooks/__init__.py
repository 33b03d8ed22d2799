from .early_stopping_hook import ResumableEarlyStoppingHook
from .heap_reuse_hook import HeapReuseHook, keep_freed_heap
from .lookahead_hook import LookaheadHook
from .rank_mean_loss_hook import RankMeanLossHook
from .rng_state_hook import RNGStateHook
from .stale_temp_hook import StaleTempCleanupHook
from .swa_hook import SWAHook
from .whitening_hook import WhiteningInitHook

__all__ = [
    'HeapReuseHook', 'keep_freed_heap', 'LookaheadHook', 'RankMeanLossHook',
    'ResumableEarlyStoppingHook', 'RNGStateHook', 'StaleTempCleanupHook',
    'SWAHook', 'WhiteningInitHook'
]
