"""AutocastOptimWrapper: autocast in the dtype that fits the hardware, loss scaling,
state dicts, and the configs and tools/train.py --amp that choose it."""
import argparse
import importlib.util
import io
import itertools
import logging
import os.path as osp
import sys

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.optim import OptimWrapper, build_optim_wrapper
from mmengine.registry import DefaultScope

import cifar_plugins  # noqa: F401
from cifar_plugins.engine.optimizers import AutocastOptimWrapper
from cifar_plugins.engine.optimizers.precision import cpu_bf16_supported
from cifar_plugins.registry import OPTIM_WRAPPERS
from helpers import REPO


def build_sgd(dtype='bfloat16'):
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(4 * 6 * 6, 2))
    wrapper = OPTIM_WRAPPERS.build(dict(
        type='AutocastOptimWrapper', dtype=dtype,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1)))
    return model, wrapper


def test_autocast_wrapper_runs_forward_in_bf16_and_keeps_fp32_weights():
    model, wrapper = build_sgd()
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
        build_sgd(dtype='float17')


_names = itertools.count()


def mock_cpu_bf16(monkeypatch, supported):
    """Make oneDNN report (no) native bfloat16 on this CPU."""
    monkeypatch.setattr(torch.ops.mkldnn, '_is_mkldnn_bf16_supported', lambda: supported)


@pytest.fixture
def wrapper_logs():
    """Records the wrapper logs to the current MMLogger (a fresh one per test)."""
    logger = MMLogger.get_instance(f'test_precision_{next(_names)}')
    assert MMLogger.get_current_instance() is logger
    records = []
    handler = logging.Handler(level=logging.DEBUG)
    handler.emit = records.append
    logger.addHandler(handler)
    yield lambda: [r for r in records if r.getMessage().startswith('AutocastOptimWrapper')]
    logger.removeHandler(handler)


def tiny_model(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(),
                         nn.Linear(8 * 6 * 6, 3))


def build(model, **cfg):
    """The wrapper from a config dict, as mmengine's Runner builds it."""
    cfg = dict(type='AutocastOptimWrapper',
               optimizer=dict(type='SGD', lr=0.1, momentum=0.9), **cfg)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return build_optim_wrapper(model, cfg)


def inputs(seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(4, 3, 8, 8, generator=g), torch.randint(0, 3, (4,), generator=g)


def train_step(model, wrapper, scale=1.0):
    x, y = inputs()
    with wrapper.optim_context(model):
        out = model(x)
    loss = nn.functional.cross_entropy(out.float(), y) * scale
    wrapper.update_params(loss)
    return out


def test_float32_fallback_logs_one_line_with_the_reason(monkeypatch, wrapper_logs):
    mock_cpu_bf16(monkeypatch, False)
    model = tiny_model()
    wrapper = build(model)  # dtype='auto' is the default
    assert wrapper.cast_dtype is None and not wrapper.loss_scaler.is_enabled()
    [record] = wrapper_logs()
    assert record.levelno == logging.INFO
    msg = record.getMessage()
    assert "dtype='auto'" in msg and 'float32' in msg and 'no native bfloat16' in msg
    train_step(model, wrapper)
    assert len(wrapper_logs()) == 1  # once per wrapper, not per step


def test_auto_on_native_bf16_cpu_logs_bfloat16(monkeypatch, wrapper_logs):
    mock_cpu_bf16(monkeypatch, True)
    assert build(tiny_model()).cast_dtype is torch.bfloat16
    [record] = wrapper_logs()
    assert record.levelno == logging.INFO and 'bfloat16 autocast on cpu' in record.getMessage()


def test_forced_bf16_on_cpu_without_native_support_warns_and_obeys(monkeypatch, wrapper_logs):
    mock_cpu_bf16(monkeypatch, False)
    model = tiny_model()
    wrapper = build(model, dtype='bfloat16')
    [record] = wrapper_logs()
    assert record.levelno == logging.WARNING
    assert 'emulated' in record.getMessage() and "dtype='auto'" in record.getMessage()
    assert wrapper.cast_dtype is torch.bfloat16
    assert train_step(model, wrapper).dtype == torch.bfloat16


def test_forced_bf16_with_native_support_does_not_warn(monkeypatch, wrapper_logs):
    mock_cpu_bf16(monkeypatch, True)
    build(tiny_model(), dtype='bfloat16')
    assert [r.levelno for r in wrapper_logs()] == [logging.INFO]


def reference_update(seed=0):
    """Weights after one float32 SGD step without any wrapper."""
    model = tiny_model(seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x, y = inputs()
    nn.functional.cross_entropy(model(x), y).backward()
    optimizer.step()
    return [p.detach().clone() for p in model.parameters()]


def bf16_or_skip():
    if not cpu_bf16_supported():
        pytest.skip('this CPU has no native bfloat16 (oneDNN), so auto never picks it')


@pytest.mark.parametrize('case', ['auto_without_bf16', 'forced_float32', 'auto_with_bf16'])
def test_train_step_through_the_built_wrapper(monkeypatch, case):
    if case == 'auto_without_bf16':
        mock_cpu_bf16(monkeypatch, False)
        cfg, expected, tol = {}, torch.float32, 0
    elif case == 'forced_float32':
        cfg, expected, tol = dict(dtype='float32'), torch.float32, 0
    else:
        bf16_or_skip()  # real capability, not mocked: this step really runs in bfloat16
        cfg, expected, tol = {}, torch.bfloat16, 2e-2
    model = tiny_model()
    wrapper = build(model, **cfg)
    assert isinstance(wrapper, AutocastOptimWrapper)
    out = train_step(model, wrapper)
    assert out.dtype == expected
    assert model(inputs()[0]).dtype == torch.float32  # no autocast outside the context
    for param, ref, init in zip(model.parameters(), reference_update(),
                                tiny_model().parameters()):
        assert param.dtype == torch.float32
        assert not torch.equal(param, init)
        torch.testing.assert_close(param, ref, rtol=tol, atol=tol)


def fp16_wrapper(model, **cfg):
    try:
        with torch.autocast('cpu', dtype=torch.float16):
            nn.Linear(2, 2)(torch.ones(1, 2))
    except RuntimeError as err:
        pytest.skip(f'no float16 autocast on CPU in this torch: {err}')
    # forced float16 enables the GradScaler on CPU too, the path CUDA without bf16 takes
    wrapper = build(model, dtype='float16', **cfg)
    assert wrapper.loss_scaler.is_enabled()
    return wrapper


def test_float16_step_unscales_gradients_and_grows_the_scale():
    model = tiny_model()
    wrapper = fp16_wrapper(model, loss_scale=dict(init_scale=256.0, growth_interval=1))
    assert train_step(model, wrapper).dtype == torch.float16
    assert wrapper.loss_scaler.get_scale() == 512.0  # finite step: scale grew
    for param, ref in zip(model.parameters(), reference_update()):
        assert param.dtype == torch.float32
        torch.testing.assert_close(param, ref, rtol=2e-2, atol=2e-2)  # not 256x


def test_float16_overflow_skips_the_step_and_backs_off():
    model = tiny_model()
    wrapper = fp16_wrapper(model, loss_scale=dict(init_scale=256.0))
    before = [p.detach().clone() for p in model.parameters()]
    train_step(model, wrapper, scale=float('inf'))
    assert wrapper.loss_scaler.get_scale() == 128.0
    for param, init in zip(model.parameters(), before):
        assert torch.equal(param, init)


def test_static_loss_scale_stays():
    model = tiny_model()
    wrapper = fp16_wrapper(model, loss_scale=64.0)
    train_step(model, wrapper)
    assert wrapper.loss_scaler.get_scale() == 64.0


def test_optim_context_refuses_a_model_on_another_device():
    model = tiny_model()
    wrapper = build(model, device_type='meta')
    with pytest.raises(RuntimeError, match="'meta'.*'cpu'"):
        with wrapper.optim_context(model):
            pass


def through_a_file(state):
    """The state as a checkpoint brings it back (no tensors shared with the optimizer)."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def test_state_dict_round_trip_without_loss_scaling(monkeypatch):
    mock_cpu_bf16(monkeypatch, False)
    model = tiny_model()
    wrapper = build(model)
    train_step(model, wrapper)
    state = wrapper.state_dict()
    assert set(state) == {'state', 'param_groups'}  # loads into plain OptimWrapper too
    state = through_a_file(state)

    twin = tiny_model()
    twin.load_state_dict(model.state_dict())
    restored = build(twin)
    restored.load_state_dict(state)
    for a, b in zip(wrapper.optimizer.state.values(), restored.optimizer.state.values()):
        torch.testing.assert_close(a['momentum_buffer'], b['momentum_buffer'], rtol=0, atol=0)
    train_step(model, wrapper)
    train_step(twin, restored)
    for a, b in zip(model.parameters(), twin.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)

    plain = OptimWrapper(torch.optim.SGD(tiny_model().parameters(), lr=0.1, momentum=0.9))
    plain.load_state_dict(wrapper.state_dict())
    # an AmpOptimWrapper checkpoint (with scaler state) loads into a float32 run
    restored.load_state_dict({**wrapper.state_dict(), 'loss_scaler': {'scale': 8.0}})
    assert not restored.loss_scaler.is_enabled()


def test_state_dict_round_trip_with_loss_scaling():
    model = tiny_model()
    wrapper = fp16_wrapper(model, loss_scale=dict(init_scale=256.0, growth_interval=1))
    train_step(model, wrapper)
    train_step(model, wrapper)
    state = through_a_file(wrapper.state_dict())
    assert state['loss_scaler']['scale'] == 1024.0

    restored = fp16_wrapper(tiny_model())
    assert restored.loss_scaler.get_scale() == 65536.0
    restored.load_state_dict(state)
    assert restored.loss_scaler.get_scale() == 1024.0
    assert restored.loss_scaler.get_growth_interval() == 1
    assert 'loss_scaler' in state  # load_state_dict did not consume the caller's dict
    assert len(restored.optimizer.state) == len(wrapper.optimizer.state)

    # a bfloat16/float32 checkpoint has no scaler state: the scaler keeps its settings
    fresh = fp16_wrapper(tiny_model())
    fresh.load_state_dict({k: v for k, v in state.items() if k != 'loss_scaler'})
    fresh.load_state_dict({**state, 'loss_scaler': {}})  # disabled GradScaler's state
    assert fresh.loss_scaler.get_scale() == 65536.0


def load_train_tool():
    spec = importlib.util.spec_from_file_location(
        'cifar_train_tool', osp.join(REPO, 'tools', 'train.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize('cuda', [False, True])
def test_train_amp_uses_the_auto_wrapper_on_every_device(monkeypatch, tmp_path, cuda):
    tool = load_train_tool()
    config = osp.join(REPO, 'configs', 'resnet18_cifar10.py')
    monkeypatch.setattr(sys, 'argv', ['train.py', config, '--amp', '--work-dir', str(tmp_path)])
    args = tool.parse_args()
    assert isinstance(args, argparse.Namespace) and args.amp
    cfg = Config.fromfile(config)
    cfg.optim_wrapper.loss_scale = 512.0  # an AmpOptimWrapper setting is kept
    with monkeypatch.context() as m:
        m.setattr(torch.cuda, 'is_available', lambda: cuda)
        cfg = tool.merge_args(cfg, args)
    assert cfg.optim_wrapper.type == 'AutocastOptimWrapper'
    assert cfg.optim_wrapper.dtype == 'auto'
    mock_cpu_bf16(monkeypatch, False)
    wrapper = build(tiny_model(), **{k: v for k, v in cfg.optim_wrapper.items()
                                    if k not in ('type', 'optimizer')})
    assert wrapper.cast_dtype is None  # built on this CPU, whatever --amp saw


def test_quickstart_config_uses_auto():
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', 'fastcifarnet_per_sample_cifar10.py'))
    assert cfg.optim_wrapper.type == 'AutocastOptimWrapper'
    assert cfg.optim_wrapper.dtype == 'auto'
