"""Synchronised BatchNorm for CPU processes (gloo), selected by ``sync_bn``.

With N processes each BN layer normally sees only its process's share of the
batch, so N x B/N and 1 x B training differ from the first iteration (batch
moments, running statistics, gradients). mmengine converts the model with
``convert_sync_batchnorm(model, cfg.sync_bn)`` when the runner is
distributed, but ``torch.nn.SyncBatchNorm`` refuses CPU tensors ("expected
input tensor to be on GPU or XPU").

:class:`CPUSyncBatchNorm` is a drop-in ``_BatchNorm`` (same parameters,
buffers and state_dict keys as ``BatchNorm1d/2d/3d``) whose training forward
all-reduces the per-channel ``[sum, sum of squares, count]`` of the batch
(one collective) and whose backward all-reduces ``[sum(dy), sum(dy * xhat)]``
(one collective), which makes every process compute exactly what one
``BatchNorm`` computes on the concatenated batch. :func:`patch_sync_batchnorm`
makes mmengine's ``convert_sync_batchnorm(model, 'torch')`` build it for a
model on the CPU; a CUDA model still gets ``torch.nn.SyncBatchNorm``.
"""
import torch
import torch.distributed as torch_dist
from mmpretrain.registry import MODELS
from torch.nn.modules.batchnorm import _BatchNorm

_PATCHED = '_cifar_plugins_cpu_sync_bn'
_LOW_PRECISION = (torch.float16, torch.bfloat16)


def _layout(x):
    """Reduction dims and broadcast shape of per-channel vectors for ``x``."""
    dims = [0] + list(range(2, x.dim()))
    shape = [1, x.shape[1]] + [1] * (x.dim() - 2)
    return dims, shape


class _SyncBatchNormFunction(torch.autograd.Function):
    """Batch normalisation with moments and their gradients summed over a
    group."""

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, eps, factor,
                group):
        dims, shape = _layout(x)
        channels = x.shape[1]
        compute = torch.float32 if x.dtype in _LOW_PRECISION else x.dtype
        xc = x.to(compute)
        n_local = xc.numel() // channels if channels else 0
        if n_local > 0:
            # local mean and centred sum of squares (two passes, accurate),
            # turned into sum and sum of squares in float64 so that the
            # subtraction of the squared global mean below cancels nothing
            # significant
            local_mean = xc.mean(dims)
            local_m2 = (xc -
                        local_mean.view(shape)).square().sum(dims).double()
            local_mean = local_mean.double()
            sums = local_mean * n_local
            squares = local_m2 + local_mean.square() * n_local
        else:
            sums = squares = torch.zeros(
                channels, dtype=torch.float64, device=x.device)
        count = torch.full((1, ),
                           float(n_local),
                           dtype=torch.float64,
                           device=x.device)
        stats = torch.cat([sums, squares, count])
        torch_dist.all_reduce(stats, group=group)
        total = int(round(stats[-1].item()))
        if total <= 1:
            raise ValueError(
                'Expected more than 1 value per channel when training, got '
                f'{total} over all processes (input size {list(x.shape)})')
        mean = stats[:channels] / total
        var = (stats[channels:2 * channels] / total -
               mean.square()).clamp_(min=0)
        invstd = (var + eps).rsqrt()

        if running_mean is not None and factor is not None:
            running_mean.mul_(1 - factor).add_(
                mean.to(running_mean.dtype), alpha=factor)
            unbiased = var * (total / (total - 1))
            running_var.mul_(1 - factor).add_(
                unbiased.to(running_var.dtype), alpha=factor)

        mean = mean.to(compute)
        invstd = invstd.to(compute)
        y = (xc - mean.view(shape)) * invstd.view(shape)
        if weight is not None:
            y = y * weight.to(compute).view(shape)
        if bias is not None:
            y = y + bias.to(compute).view(shape)
        ctx.save_for_backward(x, weight, mean, invstd)
        ctx.total = total
        ctx.group = group
        ctx.has_bias = bias is not None
        return y.to(x.dtype)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, dy):
        x, weight, mean, invstd = ctx.saved_tensors
        dims, shape = _layout(x)
        channels = x.shape[1]
        compute = mean.dtype
        dyc = dy.to(compute)
        xhat = (x.to(compute) - mean.view(shape)) * invstd.view(shape)
        sum_dy = dyc.sum(dims)
        sum_dy_xhat = (dyc * xhat).sum(dims)

        grad_input = grad_weight = grad_bias = None
        # parameter gradients stay local: DDP averages them over the processes
        if weight is not None and ctx.needs_input_grad[1]:
            grad_weight = sum_dy_xhat.to(weight.dtype)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_bias = sum_dy.clone()
        if ctx.needs_input_grad[0]:
            both = torch.cat([sum_dy, sum_dy_xhat])
            torch_dist.all_reduce(both, group=ctx.group)
            mean_dy = both[:channels] / ctx.total
            mean_dy_xhat = both[channels:] / ctx.total
            scale = invstd if weight is None else invstd * weight.to(compute)
            grad_input = (
                (dyc - mean_dy.view(shape) - xhat * mean_dy_xhat.view(shape)) *
                scale.view(shape)).to(x.dtype)
        return grad_input, grad_weight, grad_bias, None, None, None, None, None


@MODELS.register_module('CPUSyncBN')
class CPUSyncBatchNorm(_BatchNorm):
    """BatchNorm synchronised over the processes of any backend (gloo on CPU).

    In training mode with more than one process the batch mean and biased
    variance are those of the union of all processes' batches, the running
    statistics are updated with the unbiased global variance exactly as
    ``BatchNorm`` does, and the input gradient includes the other processes'
    dependence on this process's inputs. In eval mode, or when
    ``torch.distributed`` is not initialised or has one process, it is plain
    ``BatchNorm``. Inputs are ``(N, C)``, ``(N, C, L)``, ``(N, C, H, W)`` or
    ``(N, C, D, H, W)``; parameters, buffers and state_dict keys are those of
    ``BatchNorm2d``. Low-precision inputs are normalised in float32.

    Args:
        num_features (int): Number of channels ``C``.
        eps (float): Added to the variance. Defaults to 1e-5.
        momentum (float | None): Running statistics factor; ``None`` is the
            cumulative average. Defaults to 0.1.
        affine (bool): Learn a per-channel scale and shift. Defaults to True.
        track_running_stats (bool): Keep running statistics. Defaults to True.
        process_group (ProcessGroup, optional): Group to synchronise over;
            ``None`` is the default (world) group.
        device (torch.device, optional): Device of the parameters.
        dtype (torch.dtype, optional): dtype of the parameters.
    """

    def __init__(self,
                 num_features,
                 eps=1e-5,
                 momentum=0.1,
                 affine=True,
                 track_running_stats=True,
                 process_group=None,
                 device=None,
                 dtype=None):
        super().__init__(
            num_features,
            eps,
            momentum,
            affine,
            track_running_stats,
            device=device,
            dtype=dtype)
        self.process_group = process_group

    def _check_input_dim(self, input):
        if input.dim() < 2:
            raise ValueError(
                f'expected at least 2D input (got {input.dim()}D input)')

    def _sync_world_size(self):
        if not (torch_dist.is_available() and torch_dist.is_initialized()):
            return 1
        return torch_dist.get_world_size(self.process_group)

    def forward(self, input):
        """Normalise ``input``, synchronising batch moments in training.

        Args:
            input (torch.Tensor): ``(N, C, *)`` tensor.

        Returns:
            torch.Tensor: The normalised tensor, same shape and dtype.
        """
        self._check_input_dim(input)
        if not self.training or self._sync_world_size() == 1:
            return super().forward(input)
        factor = None
        if self.track_running_stats:
            self.num_batches_tracked.add_(1)
            factor = (1.0 / float(self.num_batches_tracked)
                      if self.momentum is None else self.momentum)
        running_mean = self.running_mean if self.track_running_stats else None
        running_var = self.running_var if self.track_running_stats else None
        return _SyncBatchNormFunction.apply(input, self.weight, self.bias,
                                            running_mean, running_var,
                                            self.eps, factor,
                                            self.process_group)

    @classmethod
    def convert(cls, module, process_group=None):
        """Replace every BatchNorm of ``module`` by a
        :class:`CPUSyncBatchNorm`.

        Parameters and buffers are shared with the replaced layers (not
        copied), so an optimizer built before stays valid and the state_dict
        keys are unchanged.

        Args:
            module (nn.Module): The model (or a BatchNorm layer).
            process_group (ProcessGroup, optional): Group to synchronise over.

        Returns:
            nn.Module: ``module`` with converted children, or the new layer
            when ``module`` itself is a BatchNorm.
        """
        output = module
        if isinstance(module, _BatchNorm) and not isinstance(module, cls):
            output = cls(module.num_features, module.eps, module.momentum,
                         module.affine, module.track_running_stats,
                         process_group)
            if module.affine:
                output.weight = module.weight
                output.bias = module.bias
            output.running_mean = module.running_mean
            output.running_var = module.running_var
            output.num_batches_tracked = module.num_batches_tracked
            output.training = module.training
            if hasattr(module, 'qconfig'):
                output.qconfig = module.qconfig
        for name, child in module.named_children():
            output.add_module(name, cls.convert(child, process_group))
        return output


def _on_cpu(module):
    tensor = next(module.parameters(), None)
    if tensor is None:
        tensor = next(module.buffers(), None)
    return tensor is not None and tensor.device.type == 'cpu'


def _wrap_convert(original):

    def convert_sync_batchnorm(module, implementation='torch'):
        """mmengine's converter; ``'torch'`` on a CPU model gives
        CPUSyncBatchNorm.

        Args:
            module (nn.Module): The model to convert.
            implementation (str): ``'torch'`` or ``'mmcv'`` (mmengine's
                values).

        Returns:
            nn.Module: The converted model.
        """
        if implementation == 'torch' and _on_cpu(module):
            return CPUSyncBatchNorm.convert(module)
        return original(module, implementation)

    setattr(convert_sync_batchnorm, _PATCHED, True)
    convert_sync_batchnorm.__wrapped__ = original
    return convert_sync_batchnorm


def patch_sync_batchnorm():
    """Make ``sync_bn='torch'`` work for CPU models in mmengine's
    Runner/strategies."""
    import mmengine.model as mm_model
    import mmengine.model.utils as mm_utils
    import mmengine.runner.runner as mm_runner
    modules = [mm_utils, mm_model, mm_runner]
    try:
        import mmengine._strategy.distributed as mm_strategy
        modules.append(mm_strategy)
    except ImportError:  # pragma: no cover - optional part of mmengine
        pass
    original = mm_utils.convert_sync_batchnorm
    if getattr(original, _PATCHED, False):
        return
    patched = _wrap_convert(original)
    for mod in modules:
        mod.convert_sync_batchnorm = patched
