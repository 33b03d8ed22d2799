"""Lookahead weight averaging (airbench-style) as a resume-safe mmengine
hook."""
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from cifar_plugins.registry import HOOKS


def lookahead_decay(t, total, base_decay=0.95, interval=5, power=3.0):
    """Decay of the average at iteration ``t`` (1-based) of ``total``:
    ``base_decay ** interval * (t / total) ** power``. Weak averaging early
    (0 at ``t = 0``), strongest at the end (``base_decay ** interval``)."""
    return base_decay**interval * (t / total)**power


@HOOKS.register_module()
class LookaheadHook(Hook):
    """Lookahead: an EMA of the weights, merged back into the model on a
    schedule.

    After Keller Jordan's airbench94. The hook keeps an exponential moving
    average of every floating-point entry of the model's ``state_dict``
    (parameters and float buffers such as BatchNorm running statistics, as
    airbench does; the data preprocessor's constant mean/std stay exact).
    Every ``interval`` training iterations, after the optimizer step::

        decay = base_decay ** interval * (t / T) ** power
        ema.lerp_(current, 1 - decay)  # decay * ema + (1 - decay) * current
        current.copy_(ema)  # the model continues from the average

    with ``t`` the number of iterations done and ``T`` the schedule's length
    (``total_iters``, by default the run's ``max_iters``), so averaging is
    weak early and strong late. Entries that are not floating point
    (``num_batches_tracked``) are copied into the average, never averaged,
    and the model keeps its own. With
    ``final_merge`` iteration ``t == T`` ends with airbench's
    ``update(model, decay=1.0)``: the model is set to the average, so the
    steps since the last merge are dropped (nothing changes when ``T`` is a
    multiple of ``interval``). This happens before the last checkpoint is
    written. A run that stops before ``T`` (early stopping, or a run killed
    before the end) keeps its current weights; iterations after ``T`` (a
    ``total_iters`` shorter than the run) merge with the final decay.

    Checkpoints hold the average as ``checkpoint['lookahead']`` (name ->
    CPU tensor); ``--resume`` restores it, so a run stopped at a checkpoint
    and resumed ends with the same weights as the uninterrupted run (with
    :class:`RNGStateHook` for the random streams; the schedule depends on
    ``T``, so both must have the same ``max_iters`` or ``total_iters``).
    ``load_from`` (``runner.iter == 0`` when training starts) starts a fresh
    average from the loaded weights. The model is unwrapped from DDP; every
    process does the same update on its own copy, so no communication is
    needed. The average lives on the model's device.

    Priority ``ABOVE_NORMAL``: in ``after_train_iter`` the merge runs after
    the optimizer step (taken in the train step, before any hook), before
    mmengine's ``EMAHook`` (``NORMAL``) reads the weights it averages, and
    before ``CheckpointHook`` (``VERY_LOW``) saves the iteration, so a
    checkpoint always holds the merged weights of that iteration.

    Args:
        interval (int): Merge every ``interval`` training iterations.
            Defaults to 5.
        base_decay (float): Per-iteration decay; the decay of one merge is
            at most ``base_decay ** interval``. Defaults to 0.95.
        power (float): Exponent of the warm-up ``(t / T) ** power`` of the
            decay. Defaults to 3.
        final_merge (bool): Set the model to the average after iteration
            ``T``. Defaults to True.
        total_iters (int, optional): Length ``T`` of the decay schedule. The
            default, None, is the run's ``max_iters``; set it when the run's
            length differs from the schedule's, e.g. to stop a run on purpose
            after some epochs and ``--resume`` it with more, which must then
            repeat the longer run exactly.
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self,
                 interval=5,
                 base_decay=0.95,
                 power=3.0,
                 final_merge=True,
                 total_iters=None):
        if not isinstance(interval, int) or isinstance(interval,
                                                       bool) or interval < 1:
            raise ValueError('LookaheadHook interval must be a '
                             f'positive integer, got {interval!r}')
        if not 0.0 <= base_decay <= 1.0:
            raise ValueError('LookaheadHook base_decay must be in [0, '
                             f'1], got {base_decay!r}')
        if power < 0:
            raise ValueError(
                f'LookaheadHook power must be >= 0, got {power!r}')
        if total_iters is not None and (not isinstance(total_iters, int)
                                        or isinstance(total_iters, bool)
                                        or total_iters < 1):
            raise ValueError('LookaheadHook total_iters must be a positive '
                             f'integer or None, got {total_iters!r}')
        self.interval = interval
        self.total_iters = total_iters
        self.base_decay = float(base_decay)
        self.power = float(power)
        self.final_merge = bool(final_merge)
        self.ema = None  # name -> tensor on the model's device
        self._pending = None  # averaged state read from a checkpoint

    # ------------------------------------------------------------ helpers
    @staticmethod
    def _model(runner):
        return runner.model.module if is_model_wrapper(
            runner.model) else runner.model

    @staticmethod
    def _entries(model):
        # keep_vars: the parameters and buffers themselves, not detached views
        return model.state_dict(keep_vars=True)

    def decay(self, t, total):
        """Decay of the merge after ``t`` of ``total`` iterations."""
        return lookahead_decay(t, total, self.base_decay, self.interval,
                               self.power)

    @torch.no_grad()
    def update(self, model, decay):
        """``ema = lerp(ema, current, 1 - decay)``, then ``current = ema`` for
        floating-point entries; other entries are copied into the average."""
        current = self._entries(model)
        for name, avg in self.ema.items():
            value = current[name]
            if avg.is_floating_point():
                avg.lerp_(value.detach(), 1.0 - decay)
                value.copy_(avg)
            else:
                avg.copy_(value.detach())

    # ------------------------------------------------------------ training
    @torch.no_grad()
    def before_train(self, runner):
        entries = self._entries(self._model(runner))
        self.ema = {k: v.detach().clone() for k, v in entries.items()}
        pending, self._pending = self._pending, None
        # a fresh start or load_from: average the start weights
        if runner.iter == 0:
            return
        if pending is None:
            runner.logger.warning(
                'LookaheadHook: the resumed checkpoint holds no lookahead '
                'state; the average restarts from the loaded weights, so '
                'the run will not repeat the uninterrupted one.')
            return
        mismatch = sorted(set(pending) ^ set(self.ema)) + sorted(
            k for k in set(pending) & set(self.ema)
            if pending[k].shape != self.ema[k].shape)
        if mismatch:
            runner.logger.warning(
                'LookaheadHook: the lookahead state does not '
                f'match the model (e.g. {mismatch[:3]}); the '
                'average restarts from the loaded weights.')
            return
        for name, avg in self.ema.items():
            avg.copy_(pending[name])
        runner.logger.info(
            'LookaheadHook: averaged weights restored from the checkpoint.')

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        t = runner.iter + 1  # iterations done
        total = self.total_iters or runner.max_iters
        model = self._model(runner)
        if t % self.interval == 0:
            self.update(model, self.decay(min(t, total), total))
        if self.final_merge and t == total:
            self.update(model,
                        1.0)  # lerp weight 0: the model becomes the average

    # --------------------------------------------------------- checkpoints
    def before_save_checkpoint(self, runner, checkpoint):
        if self.ema is not None:
            checkpoint['lookahead'] = {
                k: v.detach().cpu().clone()
                for k, v in self.ema.items()
            }

    def after_load_checkpoint(self, runner, checkpoint):
        # kept until before_train: used on --resume, dropped for load_from
        self._pending = checkpoint.get('lookahead')
