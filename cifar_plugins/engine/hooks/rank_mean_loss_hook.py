"""Log the training losses averaged over the processes, not rank 0's."""
import numbers

import torch
from mmengine.dist import all_reduce, get_world_size, is_distributed
from mmengine.hooks import Hook

from cifar_plugins.registry import HOOKS


def _is_scalar(value):
    if isinstance(value, torch.Tensor):
        return value.numel() == 1 and value.is_floating_point()
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


@HOOKS.register_module()
class RankMeanLossHook(Hook):
    """Replace the scalar ``train_step`` outputs by their mean over the
    processes.

    mmengine's ``RuntimeInfoHook`` (priority ``VERY_HIGH``) writes each entry
    of the ``outputs`` of ``train_step`` (``loss``, ``loss_cls``, ...) to the
    message hub as ``train/<key>``, and the logger prints rank 0's values. This
    hook runs before it (priority ``HIGHEST``) and, when training is
    distributed, averages the scalar (floating-point) entries in place with one
    ``all_reduce`` of a stacked float64 tensor, so the logged loss of N
    processes x B/N images is the loss of the whole N x B/N batch (for a
    mean-reduced loss). Tensors stay tensors (detached, same dtype and device),
    numbers become floats; other entries are left alone. Without distribution
    it does nothing.

    Every process must produce the same scalar keys in the same order (they
    come from the same model), as the collective needs equal shapes.
    """

    priority = 'HIGHEST'

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        """Average the scalar outputs of this iteration over the processes.

        Args:
            runner (Runner): The runner.
            batch_idx (int): Index of the batch in the epoch.
            data_batch (dict | tuple | list, optional): The batch.
            outputs (dict, optional): ``train_step`` outputs, changed in place.
        """
        if not outputs or not is_distributed() or get_world_size() == 1:
            return
        keys = [k for k, v in outputs.items() if _is_scalar(v)]
        if not keys:
            return
        stacked = torch.stack([
            outputs[k].detach().reshape(()).to('cpu', torch.float64)
            if isinstance(outputs[k], torch.Tensor) else torch.tensor(
                float(outputs[k]), dtype=torch.float64) for k in keys
        ])
        all_reduce(
            stacked, op='mean')  # moves to the backend's device and back
        for key, mean in zip(keys, stacked):
            old = outputs[key]
            if isinstance(old, torch.Tensor):
                outputs[key] = mean.to(old.device,
                                       old.dtype).reshape(old.shape)
            else:
                outputs[key] = float(mean)
