"""Muon: momentum steps orthogonalised by a Newton-Schulz iteration (Keller
Jordan, 2024)."""
import torch
from torch.optim import Optimizer

from cifar_plugins.registry import OPTIMIZERS

# Quintic Newton-Schulz coefficients from the Muon write-up: they maximise the
# slope at zero, so 3 steps push every singular value of a unit-norm matrix
# into ~[0.7, 1.2] instead of converging exactly to 1 (which would need many
# more steps).
NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)


def orthogonalize(matrix, steps=3, eps=1e-7):
    """Approximate ``U V^T`` of ``matrix = U S V^T`` with a quintic
    Newton-Schulz iteration.

    Args:
        matrix (torch.Tensor): A 2-D tensor.
        steps (int): Iterations. Defaults to 3.
        eps (float): Added to the Frobenius norm the input is divided by.

    Returns:
        torch.Tensor: Same shape and singular vectors as ``matrix``, singular
        values near 1 (scale-free:
        ``orthogonalize(c * m) == orthogonalize(m)``).
    """
    if matrix.ndim != 2:
        raise ValueError('orthogonalize needs a 2-D tensor, got shape '
                         f'{tuple(matrix.shape)}')
    a, b, c = NS_COEFFICIENTS
    tall = matrix.size(0) > matrix.size(1)
    x = matrix.T if tall else matrix
    x = x / (x.norm() + eps
             )  # every singular value <= 1, where the iteration converges
    for _ in range(steps):
        gram = x @ x.T  # the smaller of the two Gram matrices
        x = a * x + (b * gram + c * gram @ gram) @ x
    return x.T if tall else x


@OPTIMIZERS.register_module()
class MuonSGD(Optimizer):
    """Muon for matrix-shaped weights, SGD for the rest, in one optimizer.

    In a parameter group with ``muon=True`` each tensor (a conv filter bank
    ``(out, in, kh, kw)`` is read as the matrix ``(out, in*kh*kw)``) steps
    along its (Nesterov) momentum orthogonalised by :func:`orthogonalize`:
    ``p <- p - lr * orthogonalize(m)``; with ``normalize_weights=True`` the
    tensor is first rescaled to Frobenius norm ``sqrt(out)`` (airbench94_muon
    does this for filters that feed BatchNorm, which makes their scale free).
    Groups with ``muon=False`` take plain SGD steps (momentum, Nesterov,
    coupled weight decay: the same update as ``torch.optim.SGD``). One
    optimizer keeps mmengine's single-``OptimWrapper`` training step, its param
    schedulers (every group's ``lr`` follows them) and checkpoints unchanged.

    Per-group settings come from ``paramwise_cfg.custom_keys``, which copies
    every key it is given into the group, e.g. conv filters as the default
    Muon group and everything else SGD::

        optimizer=dict(type='MuonSGD', lr=0.24, momentum=0.6, nesterov=True,
                       normalize_weights=True),
        paramwise_cfg=dict(custom_keys={
            'norm': dict(muon=False, lr_mult=..., momentum=0.85,
                         weight_decay=...),
            'head': dict(muon=False, lr_mult=..., momentum=0.85,
                         weight_decay=...)})

    The orthogonalised step is invariant to the scale of the gradient, so a
    Muon ``lr`` does not change between a summed and a mean loss or with the
    batch size, unlike the SGD groups' ``lr``. (``torch.optim.Muon``, which
    mmengine also registers as ``Muon``, takes matrices only and scales its lr
    by shape; this class is airbench94_muon's variant plus the SGD groups.)

    Args:
        params (iterable): Parameters or parameter groups.
        lr (float): Learning rate.
        momentum (float): Momentum factor. Defaults to 0.
        nesterov (bool): Nesterov momentum. Defaults to False.
        weight_decay (float): L2 penalty added to the gradient of SGD groups;
            Muon groups must leave it at 0 (use ``normalize_weights``).
            Defaults to 0.
        muon (bool): Whether groups take Muon steps by default. Defaults to
            True.
        ns_steps (int): Newton-Schulz iterations. Defaults to 3.
        normalize_weights (bool): Rescale Muon tensors to norm ``sqrt(out)``
            before each step. Defaults to False.
    """

    def __init__(self,
                 params,
                 lr,
                 momentum=0.0,
                 nesterov=False,
                 weight_decay=0.0,
                 muon=True,
                 ns_steps=3,
                 normalize_weights=False):
        if lr < 0 or momentum < 0 or weight_decay < 0:
            raise ValueError(
                f'MuonSGD: lr, momentum and weight_decay must be >= 0, got '
                f'{lr}, {momentum}, {weight_decay}')
        defaults = dict(
            lr=lr,
            momentum=momentum,
            nesterov=nesterov,
            weight_decay=weight_decay,
            muon=muon,
            ns_steps=ns_steps,
            normalize_weights=normalize_weights)
        super().__init__(params,
                         defaults)  # checks each group in add_param_group

    @staticmethod
    def _check_group(group):
        if group['nesterov'] and group['momentum'] <= 0:
            raise ValueError('MuonSGD: Nesterov momentum needs momentum > 0')
        if not group['muon']:
            return
        if group['weight_decay']:
            raise ValueError('MuonSGD: a muon=True group takes no '
                             'weight_decay (its step is orthogonalised); set '
                             'normalize_weights=True or use muon=False')
        flat = [
            tuple(p.shape) for p in group['params']
            if p.requires_grad and p.ndim < 2
        ]
        if flat:
            raise ValueError(
                f'MuonSGD: tensors of shapes {flat} are not matrices; give '
                'them a group with muon=False (paramwise_cfg.custom_keys)')

    def add_param_group(self, param_group):
        super().add_param_group(param_group)
        self._check_group(self.param_groups[-1])

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group['params']:
                if p.grad is None:
                    continue
                self._update(p, group)
        return loss

    def _update(self, p, group):
        grad = p.grad
        if group['weight_decay']:
            grad = grad.add(p, alpha=group['weight_decay'])
        momentum = group['momentum']
        if momentum:
            state = self.state[p]
            if 'momentum_buffer' not in state:
                state['momentum_buffer'] = grad.clone()
            else:
                state['momentum_buffer'].mul_(momentum).add_(grad)
            buf = state['momentum_buffer']
            grad = grad.add(buf, alpha=momentum) if group['nesterov'] else buf
        if not group['muon']:
            p.add_(grad, alpha=-group['lr'])
            return
        if group['normalize_weights']:
            p.mul_(len(p)**0.5 / p.norm().clamp_min(1e-12))
        step = orthogonalize(grad.reshape(len(grad), -1), group['ns_steps'])
        p.add_(step.view_as(p), alpha=-group['lr'])
