"""Stochastic Weight Averaging (SWA) as an mmengine hook."""
import itertools

import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.hooks import EMAHook, Hook
from mmengine.model import StochasticWeightAverage, is_model_wrapper
from mmengine.runner import EpochBasedTrainLoop
from torch.nn.modules.batchnorm import _BatchNorm

from cifar_plugins.registry import HOOKS


@HOOKS.register_module()
class SWAHook(Hook):
    """Stochastic Weight Averaging over the last epochs of training.

    SWA (Izmailov et al., "Averaging Weights Leads to Wider Optima and Better
    Generalization", UAI 2018) averages, with equal weights, the parameters
    reached at the end of each epoch from ``begin_epoch`` on, then recomputes
    the BatchNorm statistics of the averaged network with one pass over the
    training data, because averaged weights do not match any running
    statistics seen during training.

    Reused: mmengine's :class:`StochasticWeightAverage` keeps the running
    mean (``avg += (w - avg) / (n + 1)``). Written here: the epoch-level
    schedule, the BatchNorm pass through the runner's train dataloader and
    data preprocessor (as ``torch.optim.swa_utils.update_bn``: statistics
    reset, cumulative average over one epoch, then averaged across processes),
    and the swap/checkpoint logic, which follows mmengine's ``EMAHook``:

    * the BatchNorm pass runs after every averaging step (about a third of
      an epoch's compute), on every process, so validation, test and
      checkpoints always see a consistent averaged model; validation and test
      during the SWA phase use the averaged weights;
    * checkpoints store the averaged weights (BatchNorm recomputed) as
      ``state_dict`` (so ``tools/test.py`` and ``load_from`` use them) and
      the running weights plus the average count in ``swa_state_dict``;
      ``--resume`` swaps them back and continues the average.

    The SWA learning rate is the schedule's business: e.g. a cosine schedule
    that ends at ``swa_lr`` on ``begin_epoch`` followed by a constant LR (see
    ``configs/tricks/swa.py``). Do not combine with ``EMAHook`` (both swap
    weights for validation).

    Args:
        begin_epoch (int, optional): First epoch (1-based) whose final weights
            enter the average.
        last_epochs (int, optional): Average the last ``last_epochs`` epochs
            instead (``begin_epoch = max_epochs - last_epochs + 1``). Give
            exactly one of the two.
    """

    priority = 'NORMAL'  # before CheckpointHook (VERY_LOW) saves the epoch

    def __init__(self, begin_epoch=None, last_epochs=None):
        if (begin_epoch is None) == (last_epochs is None):
            raise ValueError(
                'SWAHook needs exactly one of begin_epoch and last_epochs, '
                f'got begin_epoch={begin_epoch}, last_epochs={last_epochs}')
        for name, value in (('begin_epoch', begin_epoch), ('last_epochs',
                                                           last_epochs)):
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(
                    f'SWAHook {name} must be a positive integer, got {value!r}'
                )
        self.begin_epoch = begin_epoch
        self.last_epochs = last_epochs
        self._swapped = False

    @property
    def num_averaged(self):
        """Number of epochs averaged so far."""
        return int(self.swa_model.steps)

    def before_run(self, runner):
        if any(isinstance(hook, EMAHook) for hook in runner.hooks):
            raise ValueError(
                'SWAHook and EMAHook both swap averaged weights in for '
                'validation; use one of them')
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        self.src_model = model
        self.swa_model = StochasticWeightAverage(model)

    def before_train(self, runner):
        if not isinstance(runner.train_loop, EpochBasedTrainLoop):
            raise TypeError(
                'SWAHook averages once per epoch and needs an epoch-based '
                'train loop (train_cfg.by_epoch=True)')
        max_epochs = runner.max_epochs
        if self.last_epochs is not None:
            if self.last_epochs > max_epochs:
                raise ValueError(
                    f'SWAHook last_epochs={self.last_epochs} exceeds '
                    f'max_epochs={max_epochs}')
            self.begin_epoch = max_epochs - self.last_epochs + 1
        elif self.begin_epoch > max_epochs:
            raise ValueError(
                f'SWAHook begin_epoch={self.begin_epoch} is after the last '
                f'epoch (max_epochs={max_epochs})')

    def after_train_epoch(self, runner):
        epoch = runner.epoch + 1
        if epoch < self.begin_epoch:
            return
        self.swa_model.update_parameters(self.src_model)
        # here rather than lazily before saving: checkpoints are written on the
        # main process only, and the pass needs every process
        self._update_bn(runner)

    def before_val_epoch(self, runner):
        self._swap_in()

    def after_val_epoch(self, runner, metrics=None):
        self._swap_out()

    def before_test_epoch(self, runner):
        self._swap_in()

    def after_test_epoch(self, runner, metrics=None):
        self._swap_out()

    def before_save_checkpoint(self, runner, checkpoint):
        if self.num_averaged == 0:
            return
        swa_state = self.swa_model.state_dict()
        self._swap_state_dicts(checkpoint['state_dict'], swa_state)
        checkpoint['swa_state_dict'] = swa_state

    def after_load_checkpoint(self, runner, checkpoint):
        # Without resume (test, load_from) the averaged state_dict is the
        # model.
        if 'swa_state_dict' not in checkpoint or not runner._resume:
            return
        swa_state = checkpoint['swa_state_dict']
        self._swap_state_dicts(checkpoint['state_dict'], swa_state)
        self.swa_model.load_state_dict(
            swa_state)  # BatchNorm already recomputed

    @staticmethod
    def _swap_state_dicts(model_state, swa_state):
        """Exchange the entries (not the tensors' contents) of both dicts."""
        for key in model_state:
            swa_key = 'module.' + key
            model_state[key], swa_state[swa_key] = swa_state[
                swa_key], model_state[key]

    def _swap_in(self):
        if self.num_averaged == 0 or self._swapped:
            return
        self._swap_weights()
        self._swapped = True

    def _swap_out(self):
        if self._swapped:
            self._swap_weights()
            self._swapped = False

    def _swap_weights(self):
        avg = itertools.chain(self.swa_model.module.parameters(),
                              self.swa_model.module.buffers())
        src = itertools.chain(self.src_model.parameters(),
                              self.src_model.buffers())
        for p_avg, p_src in zip(avg, src):
            tmp = p_avg.data.clone()
            p_avg.data.copy_(p_src.data)
            p_src.data.copy_(tmp)

    @torch.no_grad()
    def _update_bn(self, runner):
        """Recompute BatchNorm statistics of the averaged model (one epoch)."""
        model = self.swa_model.module
        was_training = model.training
        model.train()
        # BatchNorm layers kept in eval mode (frozen, e.g. norm_eval=True) keep
        # the statistics copied from the running model.
        bns = [
            m for m in model.modules() if isinstance(m, _BatchNorm)
            and m.track_running_stats and m.training
        ]
        if not bns:
            model.train(was_training)
            return
        momenta = [bn.momentum for bn in bns]
        for bn in bns:
            bn.reset_running_stats()
            bn.momentum = None  # cumulative average over the pass
        num_batches = 0
        for data_batch in runner.train_dataloader:
            data = model.data_preprocessor(data_batch, True)
            model(data['inputs'], data['data_samples'], mode='tensor')
            num_batches += 1
        model.train(was_training)
        for bn, momentum in zip(bns, momenta):
            bn.momentum = momentum
        if get_world_size() > 1:
            for bn in bns:
                all_reduce(bn.running_mean, op='mean')
                all_reduce(bn.running_var, op='mean')
        runner.logger.info(
            f'SWA: epochs averaged: {self.num_averaged}; BatchNorm '
            f'statistics recomputed over {num_batches} training batches')
