"""Save and restore the random number generators that training consumes."""
import random

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_dist_info
from mmengine.hooks import CheckpointHook, Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import EpochBasedTrainLoop

from cifar_plugins.registry import HOOKS


def _own_generators(runner):
    """torch.Generators that components keep themselves (e.g. a data
    preprocessor's ``generator``), by name."""
    model = runner.model.module if is_model_wrapper(
        runner.model) else runner.model
    found = {}
    for name in ('data_preprocessor', ):
        gen = getattr(getattr(model, name, None), 'generator', None)
        if isinstance(gen, torch.Generator):
            found[name] = gen
    return found


def rng_snapshot(runner=None):
    """The state of torch (CPU and CUDA), numpy, Python ``random`` and the
    components' own generators, as checkpoint-safe data."""
    state = dict(
        torch=torch.get_rng_state(),
        numpy=np.random.get_state(legacy=False),
        python=random.getstate())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    if runner is not None:
        state['generators'] = {
            k: g.get_state()
            for k, g in _own_generators(runner).items()
        }
    return state


def rng_restore(state, runner=None):
    """Put the generators back into ``state`` (from :func:`rng_snapshot`)."""
    torch.set_rng_state(state['torch'])
    np.random.set_state(state['numpy'])
    version, internal, gauss = state['python']
    random.setstate((version, tuple(internal), gauss))
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])
    if runner is not None:
        own = _own_generators(runner)
        for name, gen_state in state.get('generators', {}).items():
            if name in own:
                own[name].set_state(gen_state)


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Make ``--resume`` continue a run exactly: RNG states in checkpoints.

    A resumed run re-seeds every generator, so random crops, flips, Mixup
    and dropout after the resume differ from the uninterrupted run's. This
    hook stores the states of torch (CPU, CUDA), numpy, Python ``random``
    and the components' own generators at the end of each training epoch
    (iteration, for iteration-based loops) in the checkpoint saved there,
    one entry per rank under DDP, and restores them just before the first
    training iteration after a resume. Two more things keep the global
    streams identical between a stopped and an uninterrupted run:

    * validation runs on a stashed copy: the generators are put back after
      it, so it does not shift training's randomness (and training with and
      without validation draws the same numbers);
    * the training DataLoader gets its own generator for its per-epoch base
      seed, which it would otherwise draw from the global torch stream (once
      per epoch without persistent workers, once per run with them). Worker
      seeds come from mmengine's ``worker_init_fn`` (seed, rank, worker id).

    ``load_from`` (fine-tuning from a checkpoint) does not restore anything.

    Args:
        seed_offset (int): Added to the run's seed to seed the DataLoader's
            generator. Defaults to 0.
    """

    priority = 'VERY_HIGH'  # capture before, restore before other hooks draw

    def __init__(self, seed_offset=0):
        self.seed_offset = seed_offset
        self._saved = None  # per-rank states for the next checkpoint
        self._pending = None  # this rank's state to restore after a resume
        self._stash = None  # states around validation

    # ---------------------------------------------------------------- setup
    def before_train(self, runner):
        loader = runner.train_loop.dataloader
        seed = (runner.seed or 0) + self.seed_offset
        loader.generator = torch.Generator().manual_seed(seed)
        if runner.iter == 0:  # a fresh start or load_from: nothing to continue
            self._pending = None

    def _checkpoint_hook(self, runner):
        return next((h for h in runner.hooks if isinstance(h, CheckpointHook)),
                    None)

    # ------------------------------------------------------------- capture
    def _capture(self, runner):
        state = rng_snapshot(runner)
        _, world_size = get_dist_info()
        self._saved = all_gather_object(state) if world_size > 1 else [state]

    def after_train_epoch(self, runner):
        self._capture(runner)

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        if isinstance(runner.train_loop, EpochBasedTrainLoop):
            return  # captured once per epoch
        hook = self._checkpoint_hook(runner)
        _, world_size = get_dist_info()
        if world_size > 1 and hook is not None and not (
                self.every_n_train_iters(runner, hook.interval)
                or self.is_last_train_iter(runner)):
            return  # gathering from all ranks only when a checkpoint follows
        self._capture(runner)

    def before_save_checkpoint(self, runner, checkpoint):
        if self._saved is None:  # saved outside the training loop
            if get_dist_info()[1] > 1:
                # only rank 0 saves: the other ranks' states are not at hand
                return
            self._capture(runner)
        checkpoint['rng_state'] = dict(
            world_size=len(self._saved), ranks=self._saved)

    # -------------------------------------------------------------- restore
    def after_load_checkpoint(self, runner, checkpoint):
        stored = checkpoint.get('rng_state')
        rank, world_size = get_dist_info()
        if stored is None:
            self._pending = None
            return
        if stored.get('world_size') != world_size:
            runner.logger.warning(
                f'RNG states were saved by {stored.get("world_size")} '
                f'processes and this run has {world_size}: not '
                'restored, so the resumed run will not repeat the '
                'uninterrupted one exactly.')
            self._pending = None
            return
        self._pending = stored['ranks'][rank]

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if self._pending is not None:
            rng_restore(self._pending, runner)
            self._pending = None
            runner.logger.info(
                'Random number generator states restored from the checkpoint.')

    # ----------------------------------------------------------- validation
    def before_val(self, runner):
        self._stash = rng_snapshot(runner)

    def after_val(self, runner):
        if self._stash is not None:
            rng_restore(self._stash, runner)
            self._stash = None
