"""One JSON record per study run: test accuracy, cost and curves."""
import glob
import json
import os.path as osp
import platform
import re
import statistics
from typing import Dict, List, Optional, Tuple

import numpy as np

from .complexity import cpu_name, model_complexity
from .predictions import RESTORED_TEST_MASK
from .run_logs import find_checkpoint, find_sessions, load_run, read_scalars

RECORD_VERSION = 1


def find_test_split(cfg) -> Tuple[str, str]:
    """``(data_root, 'cifar10' | 'cifar100')`` of the config's test set,
    looked up through dataset wrappers (``dataset=dict(dataset=...)``)."""
    node = cfg.test_dataloader['dataset']
    while 'data_root' not in node and isinstance(node.get('dataset'), dict):
        node = node['dataset']
    if 'data_root' not in node:
        raise ValueError('the test dataset of this config names no '
                         'data_root')
    kind = 'cifar100' if '100' in str(node.get('type', '')) else 'cifar10'
    return node['data_root'], kind


def exact_mask(kind: str,
               count: int,
               mask_file: str = RESTORED_TEST_MASK) -> Optional[np.ndarray]:
    """Which test images are exact (the restored CIFAR-10 pack marks them);
    ``None`` where no mask applies (all images are then official)."""
    if kind != 'cifar10' or not osp.isfile(mask_file):
        return None
    mask = np.load(mask_file)['test_lossless'].astype(bool)
    return mask if len(mask) == count else None


def train_images_per_second(work_dir: str, images_per_iter: int) -> float:
    """Median logged iteration time of the run, as training images/s (the
    first logged window, which holds the warm-up, is left out)."""
    times = []
    for session in find_sessions(work_dir):
        rows = read_scalars(osp.join(session, 'vis_data', 'scalars.json'))
        train = [r['time'] for r in rows if 'loss' in r and 'time' in r]
        times += train[1:] if len(train) > 1 else train
    if not times:
        return None
    return images_per_iter / statistics.median(times)


PRECISION_LINE = re.compile(r"AutocastOptimWrapper\(dtype='[^']*'\): (\w+)")


def training_precision(work_dir: str) -> Optional[str]:
    """The precision the run's ``AutocastOptimWrapper`` chose, from its
    log (``None`` for other optimizer wrappers)."""
    for session in reversed(find_sessions(work_dir)):
        for log in glob.glob(osp.join(session, '*.log')):
            with open(log, errors='replace') as f:
                for line in f:
                    match = PRECISION_LINE.search(line)
                    if match:
                        return match.group(1)
    return None


def _device_name(device: str) -> str:
    if device.startswith('cuda'):
        import torch
        return torch.cuda.get_device_name(0)
    return cpu_name()


def evaluate_run(cfg,
                 work_dir: str,
                 context: Dict,
                 device: Optional[str] = None) -> Dict:
    """Test a finished run with its TTA and describe it as a record.

    Args:
        cfg (Config): The config the run trained with.
        work_dir (str): The run's work dir.
        context (dict): Study, scale, arm, seed, config (stored as is);
            ``nproc`` (processes that trained it) scales images/s.
        device (str, optional): Where to test. Defaults to CUDA if present.

    Returns:
        dict: The record: ``top1_all`` / ``top1_exact`` (TTA, percent;
        ``top1_exact`` is ``None`` on official test data), ``correct_hex``
        (packed per-image correctness), ``params`` / ``macs``,
        ``train_images_per_s``, ``train_wall_s``, per-epoch ``curves``,
        ``device_name``.
    """
    import torch

    from cifar_plugins.datasets import load_split
    from .checkpoint_eval import predict_test_labels
    if device is None:
        device = 'cuda' if torch.cuda.is_available() else 'cpu'
    run = load_run(work_dir)
    checkpoint = find_checkpoint(work_dir, 'last')
    if checkpoint is None:
        raise FileNotFoundError(f'{work_dir} holds no checkpoint to test')
    data_root, kind = find_test_split(cfg)
    images, labels = load_split(data_root, kind, 'test')
    preds = predict_test_labels(
        cfg, checkpoint, images, tta=True, device=device)
    correct = preds == labels
    exact = exact_mask(kind, len(labels))
    stats = model_complexity(cfg)
    nproc = int(context.get('nproc', 1))
    batch = int(cfg.train_dataloader['batch_size']) * nproc
    curves = [
        dict(
            epoch=e.epoch,
            train_loss=e.train_loss,
            val_top1=e.top1,
            val_loss=e.val_loss) for e in run.epochs
    ]
    return dict(
        context,
        version=RECORD_VERSION,
        dataset=kind,
        epochs=run.trained_epochs,
        max_epochs=cfg.train_cfg.get('max_epochs'),
        tta=(cfg.get('tta_model') or {}).get('type'),
        top1_all=100.0 * float(correct.mean()),
        top1_exact=(100.0 * float(correct[exact].mean())
                    if exact is not None else None),
        test_images=int(len(labels)),
        exact_images=int(exact.sum()) if exact is not None else None,
        correct_hex=np.packbits(correct).tobytes().hex(),
        params=stats['params'],
        macs=stats['macs'],
        train_images_per_s=train_images_per_second(work_dir, batch),
        train_wall_s=run.wall_time,
        device_name=_device_name(device),
        precision=training_precision(work_dir),
        torch=torch.__version__,
        python=platform.python_version(),
        curves=curves)


def load_records(folder: str) -> List[Dict]:
    """Every ``runs/<arm>/seed<k>.json`` record under a study's results
    folder, sorted by arm and seed."""
    records = []
    for path in sorted(glob.glob(osp.join(folder, 'runs', '*', '*.json'))):
        with open(path) as f:
            records.append(json.load(f))
    return sorted(records, key=lambda r: (r['arm'], r['seed']))
