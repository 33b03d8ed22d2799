import pytest
import torch
import torch.nn as nn

import cifar_plugins  # noqa: F401
from cifar_plugins.registry import OPTIM_WRAPPERS


def build(dtype='bfloat16'):
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(4 * 6 * 6, 2))
    wrapper = OPTIM_WRAPPERS.build(dict(
        type='AutocastOptimWrapper', dtype=dtype,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1)))
    return model, wrapper


def test_autocast_wrapper_runs_forward_in_bf16_and_keeps_fp32_weights():
    model, wrapper = build()
    x = torch.randn(5, 3, 8, 8)
    with wrapper.optim_context(model):
        out = model(x)
    assert out.dtype == torch.bfloat16
    assert model(x).dtype == torch.float32  # outside the context nothing is cast
    before = model[2].weight.detach().clone()
    loss = out.float().pow(2).mean()
    wrapper.update_params(loss)
    assert model[2].weight.dtype == torch.float32
    assert not torch.equal(before, model[2].weight)


def test_autocast_wrapper_rejects_bad_dtype():
    with pytest.raises(TypeError, match='float17'):
        build(dtype='float17')
