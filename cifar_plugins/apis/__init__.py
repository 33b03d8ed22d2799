from .inference import CIFARInferencer, inference_model, init_model
from .runner import (ConfigError, build_runner, check_num_classes,
                     run_with_clear_errors)

__all__ = [
    'ConfigError', 'build_runner', 'check_num_classes',
    'run_with_clear_errors', 'CIFARInferencer', 'inference_model', 'init_model'
]
