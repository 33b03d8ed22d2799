"""Remove temporaries that killed atomic writes left in the work dir."""
import os
import os.path as osp

from mmengine.dist import master_only
from mmengine.hooks import Hook

from cifar_plugins.compat.atomic_write import is_own_temporary
from cifar_plugins.registry import HOOKS


@HOOKS.register_module()
class StaleTempCleanupHook(Hook):
    """Delete the plugin's own stale ``.<name>.*.tmp`` files when training
    (re)starts.

    Checkpoints are written to a temporary file and renamed onto the target
    (:mod:`cifar_plugins.compat.atomic_write`); a job killed between the two
    leaves the temporary behind. At the start of a run nothing is writing
    into the work dir yet, so every such file there is debris. Only names of
    the plugin's pattern are touched (see
    :func:`~cifar_plugins.compat.atomic_write.is_own_temporary`).
    """

    priority = 'VERY_LOW'

    @master_only
    def before_run(self, runner):
        removed = []
        for folder, _, files in os.walk(runner.work_dir):
            for name in files:
                if is_own_temporary(name):
                    os.remove(osp.join(folder, name))
                    removed.append(name)
        if removed:
            runner.logger.info(
                f'Removed {len(removed)} stale temporary file(s) of '
                f'interrupted writes: {", ".join(sorted(removed)[:5])}')
