"""Early stopping whose state survives ``--resume``."""
import math

from mmengine.hooks import EarlyStoppingHook

from cifar_plugins.registry import HOOKS


@HOOKS.register_module()
class ResumableEarlyStoppingHook(EarlyStoppingHook):
    """mmengine's :class:`EarlyStoppingHook`, with its state kept in
    checkpoints.

    Reused: mmengine's hook decides when to stop (``monitor``, ``rule``,
    ``min_delta``, ``patience``, ``stopping_threshold``; same arguments).
    Written here: mmengine keeps the best score and the count of validations
    without improvement only in memory, so a resumed run would count from
    zero again. This hook stores both in every checkpoint
    (``checkpoint['early_stopping']``) and restores them when training
    resumes; ``load_from`` (fine-tuning a checkpoint) starts afresh.

    mmengine saves an epoch's checkpoint before that epoch's validation, so
    the stored state is the one after the previous validation: a resumed run
    misses at most the last validation record and may stop one validation
    later than an uninterrupted one.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._loaded_state = None

    def before_save_checkpoint(self, runner, checkpoint):
        checkpoint['early_stopping'] = dict(
            monitor=self.monitor,
            best_score=float(self.best_score),
            wait_count=int(self.wait_count))

    def after_load_checkpoint(self, runner, checkpoint):
        self._loaded_state = checkpoint.get('early_stopping')

    def before_train(self, runner):
        state, self._loaded_state = self._loaded_state, None
        if state is None or runner.epoch == 0:  # nothing stored, or load_from
            return
        if state['monitor'] != self.monitor:
            runner.logger.warning(
                'Early stopping: the checkpoint monitored '
                f'{state["monitor"]!r}, this run monitors '
                f'{self.monitor!r}; starting the count afresh.')
            return
        self.best_score, self.wait_count = state['best_score'], state[
            'wait_count']
        best = self.best_score if math.isfinite(
            self.best_score) else 'none yet'
        runner.logger.info(f'Early stopping resumed: best {self.monitor} '
                           f'{best}, {self.wait_count}/{self.patience} '
                           'validations without improvement')
