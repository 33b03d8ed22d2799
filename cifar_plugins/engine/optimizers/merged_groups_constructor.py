"""``paramwise_cfg`` without one optimizer parameter group per tensor."""
from mmengine.optim import DefaultOptimWrapperConstructor

from cifar_plugins.registry import OPTIM_WRAPPER_CONSTRUCTORS


def merge_param_groups(groups):
    """Join parameter groups whose settings (every key but ``params``) are
    equal.

    The merged groups keep the order in which each setting first appears and
    the order of the parameters inside each group.
    """
    merged = {}
    for group in groups:
        # repr: settings may be unhashable (betas=[0.9, 0.99] from
        # --cfg-options)
        settings = tuple(
            sorted((k, repr(v)) for k, v in group.items() if k != 'params'))
        if settings not in merged:
            merged[settings] = dict(group, params=[])
        merged[settings]['params'].extend(group['params'])
    return list(merged.values())


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class MergedGroupsOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """mmengine's default constructor, with equal parameter groups merged.

    ``DefaultOptimWrapperConstructor`` turns any ``paramwise_cfg`` into one
    parameter group per tensor. The update is the same, but the optimizer,
    the param schedulers and the optimizer wrapper then loop over dozens of
    one-tensor groups in Python every step, and on CUDA the optimizer's
    ``foreach`` kernels only batch tensors within a group. Here groups with
    identical settings (lr, weight decay, momentum, ...) become one group, so
    a model with BN-bias multipliers ends up with two groups; each tensor
    gets the same hyper-parameters as before. Use it with::

        optim_wrapper = dict(constructor='MergedGroupsOptimWrapperConstructor',
                             paramwise_cfg=dict(...), ...)

    The optimizer's ``state_dict`` then holds fewer groups, so resuming a
    checkpoint written with the default constructor (or the reverse) fails
    in ``optimizer.load_state_dict``; ``load_from`` (weights only) works.
    When every group merges into one (no ``paramwise_cfg`` key matches),
    mmengine logs ``lr`` but no separate ``base_lr``.

    Args:
        optim_wrapper_cfg (dict): As for ``DefaultOptimWrapperConstructor``.
        paramwise_cfg (dict, optional): As for
            ``DefaultOptimWrapperConstructor``.
    """

    def add_params(self, params, module, prefix='', is_dcn_module=None):
        if prefix:  # a recursive call on a child module
            return super().add_params(params, module, prefix, is_dcn_module)
        groups = []
        super().add_params(groups, module, prefix, is_dcn_module)
        params.extend(merge_param_groups(groups))
