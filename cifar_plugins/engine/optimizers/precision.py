"""Which autocast dtype a device runs natively.

Mixed precision only pays where the hardware computes in the low precision
dtype. On a CPU without AVX512-BF16/AMX, oneDNN emulates bfloat16 and a
FastCIFARNet training step is ~11x slower than in float32 (6.9 s vs 0.63 s
measured on an AMD Zen 3), so ``dtype='auto'`` falls back to float32 there.
"""
import torch

__all__ = [
    'cpu_bf16_supported', 'cuda_bf16_supported', 'choose_autocast_dtype',
    'resolve_autocast_dtype', 'precision_name'
]

_NAMES = {
    'bfloat16': torch.bfloat16,
    'float16': torch.float16,
    'float32': torch.float32
}


def cpu_bf16_supported():
    """Whether oneDNN runs bfloat16 natively on this CPU (AVX512-BF16 or AMX).

    Returns:
        bool: False as well when this torch build has no oneDNN or no such
            query.
    """
    try:
        query = torch.ops.mkldnn._is_mkldnn_bf16_supported
        return bool(torch.backends.mkldnn.is_available() and query())
    except (AttributeError, RuntimeError):
        return False


def cpu_fp16_supported():
    """Whether oneDNN runs float16 natively on this CPU (AVX512-FP16 or
    AMX-FP16).

    Returns:
        bool: False as well when this torch build has no such query.
    """
    try:
        query = torch.ops.mkldnn._is_mkldnn_fp16_supported
        return bool(torch.backends.mkldnn.is_available() and query())
    except (AttributeError, RuntimeError):
        return False


def cuda_bf16_supported():
    """Whether the current CUDA device computes bfloat16 natively (Ampere or
    newer).

    Emulated bfloat16 (which ``torch.cuda.is_bf16_supported`` counts by
    default) does not count.

    Returns:
        bool: False as well without CUDA.
    """
    try:
        if not torch.cuda.is_available():
            return False
        try:
            return bool(
                torch.cuda.is_bf16_supported(including_emulation=False))
        except TypeError:  # torch < 2.3 has no including_emulation
            return bool(torch.cuda.is_bf16_supported())
    except (AssertionError, RuntimeError):
        return False


def precision_name(dtype):
    """Short name of an autocast choice.

    Args:
        dtype (torch.dtype | None): Autocast dtype, None for no autocast.

    Returns:
        str: e.g. 'bfloat16', 'float16', or 'float32' for None.
    """
    return 'float32' if dtype is None else str(dtype).replace('torch.', '')


def choose_autocast_dtype(device_type):
    """Autocast dtype that ``device_type`` runs natively, or None for float32.

    CPU: bfloat16 with oneDNN bfloat16 support, else float32. CUDA: bfloat16
    where the device supports it natively, else float16 (which needs loss
    scaling). Any other device: float32.

    Args:
        device_type (str): Device type of the model, e.g. 'cpu' or 'cuda'.

    Returns:
        tuple[torch.dtype | None, str]: The dtype (None means no autocast,
        i.e. float32) and the reason for it, for the log.
    """
    if device_type == 'cpu':
        if cpu_bf16_supported():
            return torch.bfloat16, ('the CPU runs bfloat16 natively '
                                    '(oneDNN: AVX512-BF16/AMX)')
        return None, ('the CPU has no native bfloat16 (oneDNN '
                      'reports no AVX512-BF16/AMX), and emulated '
                      'bfloat16 is several times slower than float32')
    if device_type == 'cuda':
        if cuda_bf16_supported():
            return torch.bfloat16, 'the CUDA device supports bfloat16 natively'
        return torch.float16, ('the CUDA device has no native bfloat16 '
                               '(pre-Ampere)')
    return None, ('no native autocast dtype is known for device type '
                  f'{device_type!r}')


def _native(device_type, dtype):
    if dtype is torch.bfloat16:
        return cpu_bf16_supported() if device_type == 'cpu' else \
            device_type == 'cuda' and cuda_bf16_supported()
    if dtype is torch.float16:
        return cpu_fp16_supported(
        ) if device_type == 'cpu' else device_type == 'cuda'
    return True


def resolve_autocast_dtype(device_type, requested='auto'):
    """Autocast dtype for a requested precision, with the reason and a log
    level.

    Args:
        device_type (str): Device type of the model, e.g. 'cpu' or 'cuda'.
        requested (str | torch.dtype | None): 'auto' for
            :func:`choose_autocast_dtype`; 'bfloat16' or 'float16' to force
            autocast in that dtype (obeyed, with a warning when the device
            does not run it natively); 'float32' or None for no autocast.

    Returns:
        tuple[torch.dtype | None, str, str]: The dtype (None: no autocast),
        the reason and 'INFO' or 'WARNING'.

    Raises:
        TypeError: ``requested`` is none of the above.
    """
    if isinstance(requested, str) and requested == 'auto':
        dtype, reason = choose_autocast_dtype(device_type)
        return dtype, reason, 'INFO'
    dtype = _NAMES.get(requested) if isinstance(requested, str) else requested
    if requested is None:
        dtype = torch.float32
    if dtype not in _NAMES.values():
        raise TypeError(
            f"dtype must be 'auto', one of {sorted(_NAMES)} or None, "
            f'got {requested!r}')
    if dtype is torch.float32:
        return None, 'float32 was requested', 'INFO'
    name = precision_name(dtype)
    if _native(device_type, dtype):
        return dtype, f'{name} was requested', 'INFO'
    return dtype, (
        f'{name} was requested but the {device_type} device does not run it '
        f'natively, so autocast is emulated and can be far slower than '
        f"float32 (about 11x for bfloat16 on AVX2 CPUs); dtype='auto' "
        f'picks what the device runs natively'), 'WARNING'
