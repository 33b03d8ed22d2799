"""Keep freed activation memory in the process instead of handing it back to
the OS."""
import ctypes
import ctypes.util

from mmengine.hooks import Hook

from cifar_plugins.registry import HOOKS

# glibc <malloc.h>
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
# bytes of free heap top kept before trimming (the int maximum)
_TRIM_NEVER = 2**31 - 1


def keep_freed_heap():
    """Make glibc malloc reuse freed large blocks instead of unmapping them.

    PyTorch's CPU allocator is plain ``malloc``. glibc serves blocks above 32
    MB (its largest mmap threshold) with a fresh ``mmap`` and unmaps them on
    ``free``, so every training step faults in and zero-fills each large
    activation and gradient again: at batch 2000 the airbench94 network spends
    more time in page faults than in its convolutions (2 cores, AMD EPYC Zen 3:
    52 vs 160 images/s, ``tools/benchmarks/runner_vs_raw.py``). With mmap
    switched off and the heap never trimmed, the second step onwards reuses the
    first step's pages; the process keeps its peak heap size. Process-wide and
    inherited by forked DataLoader workers; call it before the first large
    allocation that matters.

    Returns:
        bool: True if applied; False where the C library is not glibc.
    """
    name = ctypes.util.find_library('c')
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    if not hasattr(libc, 'gnu_get_libc_version'):
        return False  # another C library's mallopt has other parameter numbers
    return bool(mallopt(_M_MMAP_MAX, 0)) and bool(
        mallopt(_M_TRIM_THRESHOLD, _TRIM_NEVER))


@HOOKS.register_module()
class HeapReuseHook(Hook):
    """Apply :func:`keep_freed_heap` when a run (train, val or test) starts.

    On by default through ``configs/_base_/default_runtime.py``; switch it off
    with ``--cfg-options default_hooks.heap_reuse=None``. Device-agnostic: on
    GPUs it only concerns host memory (data batches).
    """

    priority = 'VERY_HIGH'

    def before_run(self, runner):
        if keep_freed_heap():
            runner.logger.info(
                'Host memory: freed large blocks are reused (glibc malloc '
                'without mmap for them, heap not trimmed), not faulted in '
                'again every step')
        else:
            runner.logger.info(
                'Host memory: C library is not glibc, allocator left as is')
