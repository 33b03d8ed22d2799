"""``default_hooks.NAME=None`` removes any default hook, not only mmengine's
six.

mmengine's ``Runner.register_default_hooks`` pops ``None`` entries only for
its own names (timer, logger, ...) and asserts on others, so a default hook
that a ``_base_`` runtime adds (``rng_state``, ``stale_temp``) could not be
switched off from a config or ``--cfg-options``.
"""
from mmengine.runner import Runner

_PATCHED = '_cifar_plugins_none_drops'


def patch_default_hooks():
    """Let ``None`` drop any entry of ``default_hooks``."""
    original = Runner.register_default_hooks
    if getattr(original, _PATCHED, False):
        return

    def register_default_hooks(self, hooks=None):
        if hooks is not None:
            mm_defaults = {
                'runtime_info', 'timer', 'sampler_seed', 'logger',
                'param_scheduler', 'checkpoint'
            }
            hooks = {
                k: v
                for k, v in hooks.items() if v is not None or k in mm_defaults
            }
        return original(self, hooks)

    setattr(register_default_hooks, _PATCHED, True)
    Runner.register_default_hooks = register_default_hooks
