"""Module fidelity: the helpers of the reference checks in tests/test_models.

Modules with a reference in timm or mmpretrain are built with the same
hyper-parameters as the reference, the parameter counts are compared, the
reference's (randomised) weights and norm statistics are copied in and the
outputs compared in eval mode (``randomise``, ``transfer``, ``assert_same``).
Modules without a library reference (MSCA, LSK, the CSP stage) are checked
against the paper's parameter formula and a hand-written forward of the
paper's equations (``conv``).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

NORM_TYPES = (nn.modules.batchnorm._BatchNorm, nn.LayerNorm, nn.GroupNorm)


def is_norm(module):
    return isinstance(module, NORM_TYPES) or 'LayerNorm' in type(module).__name__


@torch.no_grad()
def randomise(module, seed=0):
    """Random weights everywhere (layer scales, biases and bias tables too, so no
    branch is ~0) and random affine + running statistics in every norm."""
    gen = torch.Generator().manual_seed(seed)

    def randn(t, std):
        return torch.randn(t.shape, generator=gen) * std

    norm_params = set()
    for m in module.modules():
        if not is_norm(m):
            continue
        if getattr(m, 'weight', None) is not None:
            m.weight.copy_(1 + randn(m.weight, 0.3))
            m.bias.copy_(randn(m.bias, 0.3))
            norm_params |= {id(m.weight), id(m.bias)}
        if getattr(m, 'running_mean', None) is not None:
            m.running_mean.copy_(randn(m.running_mean, 0.3))
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) + 0.5)
    for p in module.parameters():
        if id(p) not in norm_params:
            p.copy_(randn(p, 1 / math.sqrt(p[0].numel())) if p.dim() > 1 else randn(p, 0.3))
    return module


def transfer(dst, src, rename=()):
    """Load ``src``'s state into ``dst``: ``dst`` key -> ``src`` key by the
    first matching ``(dst_prefix, src_prefix)`` of ``rename``; tensors of equal
    size are reshaped (Linear <-> 1x1 conv). Every ``src`` entry must be used."""
    src_state = src.state_dict()
    new, used = {}, set()
    for key, value in dst.state_dict().items():
        src_key = key
        for a, b in rename:
            if key.startswith(a):
                src_key = b + key[len(a):]
                break
        ref = src_state[src_key]
        assert ref.numel() == value.numel(), (key, src_key, ref.shape, value.shape)
        new[key] = ref.reshape(value.shape).clone()
        used.add(src_key)
    assert used == set(src_state), set(src_state) - used
    dst.load_state_dict(new)


def assert_same(ours, ref, *inputs):
    ours.eval(), ref.eval()
    with torch.no_grad():
        out, expected = ours(*inputs), ref(*inputs)
    assert out.shape == expected.shape
    assert expected.abs().max() > 1e-2  # a real signal, not a collapsed output
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)


def x_(*shape, seed=1):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def conv(x, layer, **kwargs):
    return F.conv2d(x, layer.weight, layer.bias, padding=layer.padding,
                    dilation=layer.dilation, groups=layer.groups, **kwargs)
