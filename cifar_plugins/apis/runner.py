"""Build mmengine Runners with up-front config checks and readable failures."""
import os
import os.path as osp
import re
import shutil
import sys

from mmengine.config import Config
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from cifar_plugins.errors import ConfigError, user_error_message
from cifar_plugins.registry import DATASETS

__all__ = [
    'ConfigError', 'build_runner', 'check_config', 'check_num_classes',
    'merge_cfg_options', 'run_with_clear_errors'
]


def _dataset_num_classes(dataset_cfg):
    if not dataset_cfg:
        return None, None
    dataset_cfg = dataset_cfg.get('dataset',
                                  dataset_cfg)  # wrappers like RepeatDataset
    dataset_type = dataset_cfg.get('type')
    cls = DATASETS.get(dataset_type) if isinstance(dataset_type,
                                                   str) else dataset_type
    classes = (getattr(cls, 'METAINFO', None) or {}).get('classes')
    metainfo = dataset_cfg.get('metainfo') or {}
    classes = metainfo.get('classes', classes)
    return dataset_type, (len(classes) if classes else None)


def check_num_classes(cfg):
    """Check that head, data preprocessor and datasets agree on the class
    count.

    Args:
        cfg (Config): The config.

    Raises:
        ConfigError: naming the keys to change.
    """
    model = cfg.get('model') or {}
    counts = {}
    head = model.get('head') or {}
    if head.get('num_classes') is not None:
        counts['model.head.num_classes'] = head['num_classes']
    preproc = model.get('data_preprocessor') or cfg.get(
        'data_preprocessor') or {}
    if preproc.get('num_classes') is not None:
        counts['data_preprocessor.num_classes'] = preproc['num_classes']
    for split in ('train', 'val', 'test'):
        name, n = _dataset_num_classes((cfg.get(f'{split}_dataloader')
                                        or {}).get('dataset'))
        if n is not None:
            counts[f'{split}_dataloader.dataset ({name})'] = n
    if len(set(counts.values())) > 1:
        listing = ', '.join(f'{k}={v}' for k, v in counts.items())
        raise ConfigError(
            f'Inconsistent number of classes: {listing}. Set '
            f'model.head.num_classes and data_preprocessor.num_classes '
            f'to the dataset\'s class count.')


_FORWARDED = ('data_root', 'data_prefix', 'download'
              )  # InMemoryBatchDataset passes them on


def _walk_datasets(dataset_cfg):
    """Dataset configs inside wrappers (``dataset=``) and concatenations
    (``datasets=``)."""
    if not isinstance(dataset_cfg, dict):
        return
    if isinstance(dataset_cfg.get('dataset'), dict):
        inner = dict(dataset_cfg['dataset'])
        inner.update(
            {k: dataset_cfg[k]
             for k in _FORWARDED if k in dataset_cfg})
        yield from _walk_datasets(inner)
    elif isinstance(dataset_cfg.get('datasets'), (list, tuple)):
        for child in dataset_cfg['datasets']:
            yield from _walk_datasets(child)
    else:
        yield dataset_cfg


def check_dataloaders(cfg, splits=('train', 'val', 'test')):
    """Check batch sizes and, for datasets that can, their data paths.

    Args:
        cfg (Config): The config.
        splits (Sequence[str]): Dataloaders whose data must be present (the
            ones the run builds); batch sizes are checked for all.

    Raises:
        ConfigError: a batch size is not a positive integer, or a dataloader
            the run builds has persistent workers without workers.
        CIFARDataError: a data_root is a file, holds part of a dataset, or
            misses the data and the dataset may not download it.
    """
    for split in ('train', 'val', 'test'):
        loader = cfg.get(f'{split}_dataloader')
        if not isinstance(loader, dict):
            continue
        batch_size = loader.get('batch_size')
        if batch_size is not None and (isinstance(batch_size, bool)
                                       or not isinstance(batch_size, int)
                                       or batch_size < 1):
            raise ConfigError(
                f'{split}_dataloader.batch_size must be a '
                f'positive integer, got {batch_size!r}: set e.g. '
                f'--cfg-options {split}_dataloader.batch_size=128')
        if split not in splits:
            continue
        if loader.get('persistent_workers') and not loader.get('num_workers'):
            raise ConfigError(
                f'{split}_dataloader.persistent_workers=True '
                'needs num_workers > 0: set '
                f'{split}_dataloader.persistent_workers=False too')
        for dataset_cfg in _walk_datasets(loader.get('dataset')):
            dataset_type = dataset_cfg.get('type')
            cls = DATASETS.get(dataset_type) if isinstance(
                dataset_type, str) else dataset_type
            check = getattr(cls, 'check_data_config', None)
            if check is not None:
                check(dataset_cfg, key=f'{split}_dataloader.dataset.data_root')


def check_config(cfg, splits=('train', 'val', 'test')):
    """All up-front checks of :func:`build_runner` (classes, batch sizes,
    data).

    Args:
        cfg (Config): The config.
        splits (Sequence[str]): Dataloaders the run builds.
    """
    check_num_classes(cfg)
    check_dataloaders(cfg, splits)


def merge_cfg_options(cfg, options):
    """``cfg.merge_from_dict(options)`` after checking every key's path.

    mmengine fails with a TypeError deep in the merge for a path through a
    value that is not a dict (``model.head.num_classes.x=1``); this names the
    option and the value instead.

    Args:
        cfg (Config): The config, updated in place.
        options (dict | None): ``--cfg-options`` as parsed by DictAction.

    Raises:
        ConfigError: a key goes through a value that is not a dict or list,
            or through a list index that does not exist.
    """
    if not options:
        return cfg
    root = cfg._cfg_dict if isinstance(cfg, Config) else cfg
    for key, value in options.items():
        parts, node = key.split('.'), root
        for depth in range(len(parts) - 1):
            part, child, prefix = parts[depth], parts[depth + 1], '.'.join(
                parts[:depth + 1])
            if isinstance(node, dict):
                if part not in node:
                    break  # a new key: mmengine creates the dicts below it
                node = node[part]
            else:
                node = node[int(part)]
            if isinstance(node, dict):
                continue
            if isinstance(node,
                          list) and child.isdigit() and int(child) < len(node):
                continue
            if isinstance(node, list):
                problem = (f'a list of {len(node)} items, so {child!r} is '
                           f'not one of its indices 0..{len(node) - 1}')
            else:
                problem = (
                    f'{type(node).__name__} {node!r}, not a dict, so it has '
                    f'no key {child!r}; set {prefix}=... as a whole instead')
            raise ConfigError(
                f'--cfg-options {key}={value}: {prefix} is {problem}')
    cfg.merge_from_dict(options)
    return cfg


_SESSION_DIR = re.compile(
    r'^\d{8}_\d{6}$')  # mmengine's <timestamp> log folder


def _work_dir_state(work_dir):
    """(topmost folder that does not exist yet, entries of work_dir) before a
    build."""
    if not isinstance(work_dir, str):
        return None, None
    path, created = osp.abspath(work_dir), None
    while not osp.exists(path):
        created, parent = path, osp.dirname(path)
        if parent == path:
            break
        path = parent
    entries = set(os.listdir(
        work_dir)) if created is None and osp.isdir(work_dir) else None
    return created, entries


def _undo_work_dir(work_dir, state, config_name):
    """Remove what a Runner that failed to build wrote into ``work_dir``."""
    created, entries = state
    if created is not None:
        shutil.rmtree(created, ignore_errors=True)
    elif entries is not None:
        for entry in set(os.listdir(work_dir)) - entries:
            path = osp.join(work_dir, entry)
            if _SESSION_DIR.match(entry) and osp.isdir(path):
                shutil.rmtree(path, ignore_errors=True)
            elif entry == config_name and osp.isfile(path):
                os.remove(path)


def build_runner(cfg, splits=('train', 'val', 'test')):
    """Check ``cfg`` and build its Runner (``runner_type`` honoured).

    The checks (:func:`check_config`) run before the Runner writes anything.
    If building the Runner fails with a user error (e.g. an unknown type or
    argument in the model), the log folder it had started in the work dir is
    removed again, so a failed start leaves the work dir as it was.

    Args:
        cfg (Config): The config.
        splits (Sequence[str]): Dataloaders the run builds (data checked up
            front), e.g. ``('train', 'val')`` to train, ``('test',)`` to test.

    Returns:
        Runner: The runner.
    """
    check_config(cfg, splits)
    work_dir = cfg.get('work_dir')
    state = _work_dir_state(work_dir)
    try:
        if 'runner_type' in cfg:
            return RUNNERS.build(cfg)
        return Runner.from_cfg(cfg)
    except Exception as err:
        if user_error_message(err) is not None and state != (None, None):
            config_name = osp.basename(cfg.filename) if cfg.filename else None
            _undo_work_dir(work_dir, state, config_name)
        raise


def run_with_clear_errors(main, *args, **kwargs):
    """Run a tool's ``main``; a user error becomes one ``ERROR:`` line and exit
    code 1.

    What counts as a user error is decided by
    :func:`cifar_plugins.errors.user_error_message`; any other exception
    propagates with its traceback.

    Args:
        main (callable): The tool's main function.
        *args: Passed to ``main``.
        **kwargs: Passed to ``main``.

    Returns:
        The return value of ``main``.
    """
    try:
        return main(*args, **kwargs)
    except Exception as err:
        msg = user_error_message(err)
        if msg is None:
            raise
        sys.stdout.flush()
        sys.exit(f'ERROR: {msg}')
