"""cifar_plugins.engine.optimizers.precision: the autocast dtype that fits the hardware."""
import types

import pytest
import torch

import cifar_plugins  # noqa: F401
from cifar_plugins.engine.optimizers import choose_autocast_dtype
from cifar_plugins.engine.optimizers.precision import cpu_bf16_supported, resolve_autocast_dtype


def mock_cpu_bf16(monkeypatch, supported):
    """Make oneDNN report (no) native bfloat16 on this CPU."""
    monkeypatch.setattr(torch.ops.mkldnn, '_is_mkldnn_bf16_supported', lambda: supported)


def mock_cuda(monkeypatch, native_bf16, emulated_bf16=True):
    """A CUDA device; ``emulated_bf16`` is what is_bf16_supported() says by default."""
    def is_bf16_supported(including_emulation=True):
        return native_bf16 or (including_emulation and emulated_bf16)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'is_bf16_supported', is_bf16_supported)


def test_cpu_with_onednn_bf16_chooses_bfloat16(monkeypatch):
    mock_cpu_bf16(monkeypatch, True)
    dtype, reason = choose_autocast_dtype('cpu')
    assert dtype is torch.bfloat16 and 'natively' in reason


def test_cpu_without_onednn_bf16_chooses_float32(monkeypatch):
    mock_cpu_bf16(monkeypatch, False)
    dtype, reason = choose_autocast_dtype('cpu')
    assert dtype is None
    assert 'no native bfloat16' in reason and 'slower' in reason


@pytest.mark.parametrize('broken', ['missing_namespace', 'query_raises'])
def test_cpu_without_the_onednn_query_chooses_float32(monkeypatch, broken):
    if broken == 'missing_namespace':  # a torch build without the mkldnn ops
        monkeypatch.setattr(torch.ops, 'mkldnn', types.SimpleNamespace())
    else:
        def query():
            raise RuntimeError('no oneDNN')
        monkeypatch.setattr(torch.ops.mkldnn, '_is_mkldnn_bf16_supported', query)
    assert cpu_bf16_supported() is False
    assert choose_autocast_dtype('cpu')[0] is None


def test_cuda_with_native_bf16_chooses_bfloat16(monkeypatch):
    mock_cuda(monkeypatch, native_bf16=True)
    dtype, reason = choose_autocast_dtype('cuda')
    assert dtype is torch.bfloat16 and 'natively' in reason


def test_cuda_with_only_emulated_bf16_chooses_float16(monkeypatch):
    # torch.cuda.is_bf16_supported() says True for emulated bfloat16 by default
    mock_cuda(monkeypatch, native_bf16=False, emulated_bf16=True)
    assert torch.cuda.is_bf16_supported()
    dtype, reason = choose_autocast_dtype('cuda')
    assert dtype is torch.float16 and 'no native bfloat16' in reason


def test_other_device_types_use_float32():
    dtype, reason = choose_autocast_dtype('mps')
    assert dtype is None and "'mps'" in reason


def test_requested_dtypes(monkeypatch):
    mock_cpu_bf16(monkeypatch, True)
    assert resolve_autocast_dtype('cpu', 'auto')[0] is torch.bfloat16
    assert resolve_autocast_dtype('cpu', 'float32')[:1] == (None,)
    assert resolve_autocast_dtype('cpu', None)[:1] == (None,)
    assert resolve_autocast_dtype('cpu', torch.bfloat16)[::2] == (torch.bfloat16, 'INFO')
    for bad in ('float64', torch.float64, 'half', 'float17', 16):
        with pytest.raises(TypeError, match='auto'):
            resolve_autocast_dtype('cpu', bad)
