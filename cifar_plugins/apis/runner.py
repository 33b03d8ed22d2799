"""Build mmengine Runners with up-front config checks and readable failures."""
import sys

from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from cifar_plugins.compat import CheckpointLoadError
from cifar_plugins.datasets import CIFARDataError
from cifar_plugins.registry import DATASETS


class ConfigError(ValueError):
    """The config is inconsistent (e.g. head and dataset class counts differ)."""


def _dataset_num_classes(dataset_cfg):
    if not dataset_cfg:
        return None, None
    dataset_cfg = dataset_cfg.get('dataset', dataset_cfg)  # wrappers like RepeatDataset
    dataset_type = dataset_cfg.get('type')
    cls = DATASETS.get(dataset_type) if isinstance(dataset_type, str) else dataset_type
    classes = (getattr(cls, 'METAINFO', None) or {}).get('classes')
    metainfo = dataset_cfg.get('metainfo') or {}
    classes = metainfo.get('classes', classes)
    return dataset_type, (len(classes) if classes else None)


def check_num_classes(cfg):
    """Check that head, data preprocessor and datasets agree on the class count.

    Raises:
        ConfigError: naming the keys to change.
    """
    model = cfg.get('model') or {}
    counts = {}
    head = model.get('head') or {}
    if head.get('num_classes') is not None:
        counts['model.head.num_classes'] = head['num_classes']
    preproc = model.get('data_preprocessor') or cfg.get('data_preprocessor') or {}
    if preproc.get('num_classes') is not None:
        counts['data_preprocessor.num_classes'] = preproc['num_classes']
    for split in ('train', 'val', 'test'):
        name, n = _dataset_num_classes((cfg.get(f'{split}_dataloader') or {}).get('dataset'))
        if n is not None:
            counts[f'{split}_dataloader.dataset ({name})'] = n
    if len(set(counts.values())) > 1:
        listing = ', '.join(f'{k}={v}' for k, v in counts.items())
        raise ConfigError(f'Inconsistent number of classes: {listing}. Set '
                          f'model.head.num_classes and data_preprocessor.num_classes '
                          f'to the dataset\'s class count.')


def build_runner(cfg):
    """Check ``cfg`` and build its Runner (``runner_type`` honoured)."""
    check_num_classes(cfg)
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def run_with_clear_errors(main):
    """Run a tool's ``main``; user errors become one message and exit code 1."""
    try:
        main()
    except (CIFARDataError, CheckpointLoadError, ConfigError, FileNotFoundError) as err:
        sys.exit(f'ERROR: {err}')
    except KeyError as err:
        msg = str(err.args[0]) if err.args else str(err)
        if 'registry' not in msg:
            raise
        sys.exit(f'ERROR: unknown module type: {msg}')
