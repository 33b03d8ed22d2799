"""Mixed precision on any device, in the dtype the device runs natively."""
import logging
from contextlib import contextmanager

import torch
from mmengine.logging import print_log
from mmengine.optim import AmpOptimWrapper, OptimWrapper

from cifar_plugins.registry import OPTIM_WRAPPERS
from .precision import precision_name, resolve_autocast_dtype


def _optimizer_device_type(optimizer):
    """Device type of the optimizer's first parameter (mmengine's device
    without any)."""
    for group in optimizer.param_groups:
        for param in group['params']:
            return param.device.type
    from mmengine.device import get_device
    return get_device()


def _build_grad_scaler(loss_scale, device_type, enabled):
    """A ``torch.amp.GradScaler`` configured like mmengine's
    ``AmpOptimWrapper``."""
    if loss_scale == 'dynamic':
        kwargs = {}
    elif isinstance(loss_scale, float):
        kwargs = dict(init_scale=loss_scale)
    elif isinstance(loss_scale, dict):
        kwargs = dict(loss_scale)
    else:
        raise TypeError(
            'loss_scale must be of type float, dict, or "dynamic", '
            f'but got {loss_scale!r}')
    return torch.amp.GradScaler(device_type, enabled=enabled, **kwargs)


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(AmpOptimWrapper):
    """mmengine's ``AmpOptimWrapper`` on any device, in a dtype that fits the
    hardware.

    The forward runs under ``torch.autocast`` on the model's device. With
    ``dtype='auto'`` (see :func:`~.precision.choose_autocast_dtype`) that is
    bfloat16 on CPUs with oneDNN bfloat16 support (AVX512-BF16/AMX: about
    2x faster than float32, FastCIFARNet at batch 256 380 -> 184 ms per
    step) and on CUDA devices with native bfloat16; float16 with dynamic
    loss scaling on older CUDA devices; and float32 (no autocast) everywhere
    else, because emulated bfloat16 on an AVX2 CPU is ~11x slower than
    float32. One log line says which precision was chosen and why.

    The backward, step and ``state_dict`` are ``AmpOptimWrapper``'s: the
    ``GradScaler`` is enabled only for float16, and its state is saved and
    restored with the optimizer's. Unlike ``AmpOptimWrapper`` it also runs
    without a GPU. Weights, optimizer state and BN statistics stay float32.
    The device is taken from the optimizer's parameters, so build the
    wrapper after the model is on its device (mmengine's Runner does).

    Args:
        dtype (str | torch.dtype | None): 'auto', 'bfloat16', 'float16', or
            'float32'/None for no autocast. A forced dtype that the device
            does not run natively is obeyed with a warning. Defaults to 'auto'.
        loss_scale (str | float | dict): ``GradScaler`` settings as in
            ``AmpOptimWrapper``, used for float16 only. Defaults to 'dynamic'.
        device_type (str, optional): Device type to choose the precision
            for; None takes the optimizer's parameters'. Defaults to None.
        **kwargs: Arguments of :class:`~mmengine.optim.OptimWrapper`.

    Raises:
        TypeError: ``dtype`` or ``loss_scale`` is not one of the above.
    """

    def __init__(self,
                 dtype='auto',
                 loss_scale='dynamic',
                 device_type=None,
                 **kwargs):
        # AmpOptimWrapper.__init__ asserts a GPU/NPU/MLU/MUSA; its scaler is
        # set up here.
        OptimWrapper.__init__(self, **kwargs)
        self.device_type = device_type or _optimizer_device_type(
            self.optimizer)
        self.cast_dtype, reason, level = resolve_autocast_dtype(
            self.device_type, dtype)
        self._scale_update_param = loss_scale if isinstance(loss_scale,
                                                            float) else None
        self.loss_scaler = _build_grad_scaler(
            loss_scale,
            self.device_type,
            enabled=self.cast_dtype is torch.float16)
        if self.cast_dtype is None:
            precision = 'float32 (no autocast)'
        elif not self.loss_scaler.is_enabled():
            precision = f'{precision_name(self.cast_dtype)} autocast'
        elif self._scale_update_param is None:
            precision = 'float16 autocast with dynamic loss scaling'
        else:
            precision = ('float16 autocast with loss scale '
                         f'{self._scale_update_param}')
        print_log(
            f'AutocastOptimWrapper(dtype={dtype!r}): {precision} on '
            f'{self.device_type} because {reason}',
            logger='current',
            level=getattr(logging, level))

    def state_dict(self):
        """Optimizer state plus ``loss_scaler`` when loss scaling is on.

        Without loss scaling the state equals ``OptimWrapper``'s, so such
        checkpoints also load into ``OptimWrapper`` and ``AmpOptimWrapper``.

        Returns:
            dict: The state dict.
        """
        if self.loss_scaler.is_enabled():
            return super().state_dict()
        return OptimWrapper.state_dict(self)

    def load_state_dict(self, state_dict):
        """Load the optimizer and, when present and non-empty, the loss-scaler
        state.

        A checkpoint without scaler state (written in bfloat16 or float32)
        leaves a float16 run's scaler at its initial settings.

        Args:
            state_dict (dict): A state dict of this wrapper, ``OptimWrapper``
                or ``AmpOptimWrapper``.
        """
        state_dict = dict(state_dict)
        if not state_dict.get('loss_scaler'):
            state_dict.pop('loss_scaler', None)
        super().load_state_dict(state_dict)

    @contextmanager
    def optim_context(self, model):
        """``OptimWrapper``'s context plus ``torch.autocast`` in the chosen
        dtype.

        Args:
            model (nn.Module): The training model.

        Raises:
            RuntimeError: The model is on another device type than the one
                the precision was chosen for.
        """
        param = next(model.parameters(), None)
        if param is not None and param.device.type != self.device_type:
            raise RuntimeError(
                'AutocastOptimWrapper chose '
                f'{precision_name(self.cast_dtype)} for {self.device_type!r} '
                f'but the model is on {param.device.type!r}; build the '
                'optimizer wrapper after moving the model')
        with OptimWrapper.optim_context(self, model):
            if self.cast_dtype is None:
                yield
            else:
                with torch.autocast(
                        device_type=self.device_type, dtype=self.cast_dtype):
                    yield
