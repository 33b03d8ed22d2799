"""HeapReuseHook: freed large blocks are reused instead of faulted in again."""
import platform
import subprocess
import sys
import textwrap

import pytest
from mmengine.config import Config

import cifar_plugins  # noqa: F401
from cifar_plugins.engine.hooks import HeapReuseHook
from cifar_plugins.registry import HOOKS

glibc_only = pytest.mark.skipif(platform.libc_ver()[0] != 'glibc',
                                reason='mallopt parameters are glibc-specific')

# minor page faults of allocating, filling and freeing 64 MB, before and after the call;
# run in a fresh process so the setting does not leak into the test session
PROBE = textwrap.dedent("""
    import resource, torch
    from cifar_plugins.engine.hooks import keep_freed_heap

    def faults():
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        block = torch.empty(16 * 2**20)
        block.fill_(1.0)
        del block
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

    # fewest faults of 3 rounds: once in a while a small allocation lands in the freed
    # block and the next round grows the heap once more (seen under load); steady state after
    faults()
    default = min(faults() for _ in range(3))
    applied = keep_freed_heap()
    faults()  # grows the heap once
    print(default, min(faults() for _ in range(3)), applied)
""")


@glibc_only
def test_second_allocation_reuses_pages_after_keep_freed_heap():
    out = subprocess.run([sys.executable, '-c', PROBE], capture_output=True, text=True,
                         timeout=300, check=True)
    default, reused, applied = out.stdout.split()
    pages = 64 * 2**20 // 4096
    assert applied == 'True'
    assert int(default) > pages // 2      # glibc default: a fresh mmap every time
    assert int(reused) < pages // 20      # the same pages again


def test_default_runtime_registers_the_hook_and_it_logs(caplog):
    cfg = Config.fromfile('configs/_base_/default_runtime.py')
    assert cfg.default_hooks.heap_reuse == dict(type='HeapReuseHook')
    hook = HOOKS.build(cfg.default_hooks.heap_reuse)
    assert isinstance(hook, HeapReuseHook)

    class Runner:
        class logger:
            lines = []
            info = lines.append
    hook.before_run(Runner)
    assert Runner.logger.lines and Runner.logger.lines[0].startswith('Host memory:')
