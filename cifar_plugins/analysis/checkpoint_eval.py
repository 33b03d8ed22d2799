"""Evaluate a checkpoint on the test set and write its tables and figures."""
import json
import os
import os.path as osp
from typing import Dict, Optional

import numpy as np
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from cifar_plugins.apis.inference import (checkpoint_meta, init_model,
                                          load_config)
from .predictions import (Predictions, confident_mistakes, confusion_matrix,
                          mistake_rows, per_class_accuracy,
                          plot_confusion_matrix, plot_image_grid,
                          predict_dataset, sample_indices)
from .tables import write_csv, write_markdown

PER_CLASS_COLUMNS = [
    'index', 'name', 'images', 'correct', 'accuracy', 'most_confused_with',
    'confused_count'
]
MISTAKE_COLUMNS = [
    'rank', 'dataset_index', 'true', 'predicted', 'score', 'true_class_score'
]
SUMMARY_NAME = 'eval_summary.json'


def predict_test_labels(cfg,
                        checkpoint: str,
                        images: np.ndarray,
                        tta: bool = False,
                        batch_size: int = 500,
                        device: str = 'cpu') -> np.ndarray:
    """Predicted labels of ``(N, 32, 32, 3)`` uint8 images, in batches.

    Args:
        cfg (Config): The run's config.
        checkpoint (str): Checkpoint to load.
        images (np.ndarray): HWC uint8 images.
        tta (bool): Wrap the model in the config's ``tta_model`` (as
            ``tools/test.py --tta``; the default TTA model if it has none).
        batch_size (int): Images per ``test_step``. Defaults to 500.
        device (str): Where the model runs. Defaults to ``'cpu'``.
    """
    import torch

    from cifar_plugins.models.tta import DEFAULT_TTA_MODEL
    from cifar_plugins.registry import MODELS
    model = init_model(cfg, checkpoint, device=device)
    if tta:
        with DefaultScope.overwrite_default_scope('mmpretrain'):
            model = MODELS.build({
                **(cfg.get('tta_model') or DEFAULT_TTA_MODEL), 'module':
                model
            })
    model.eval()
    inputs = torch.as_tensor(np.ascontiguousarray(images)).permute(0, 3, 1, 2)
    preds = []
    with torch.no_grad():
        for start in range(0, len(inputs), batch_size):
            out = model.test_step(
                dict(
                    inputs=inputs[start:start + batch_size],
                    data_samples=None))
            preds.append(torch.stack([s.pred_label for s in out]).flatten())
    return torch.cat(preds).cpu().numpy()


def build_test_dataloader(cfg, batch_size: Optional[int] = None):
    """The config's ``test_dataloader`` built by mmengine's
    ``Runner.build_dataloader`` in the config's registry scope, without
    persistent workers."""
    loader_cfg = dict(cfg.test_dataloader)
    loader_cfg['persistent_workers'] = False
    if batch_size:
        loader_cfg['batch_size'] = batch_size
    with DefaultScope.overwrite_default_scope(
            cfg.get('default_scope', 'mmpretrain')):
        return Runner.build_dataloader(loader_cfg)


def dataset_images(dataset, indices, channel_conversion: bool = False):
    """``H x W x 3`` uint8 RGB images of ``dataset[i]`` (after its
    pipeline)."""
    images = []
    for index in indices:
        img = dataset[int(index)]['inputs'].permute(1, 2, 0).numpy()
        images.append(
            np.ascontiguousarray(img[
                ..., ::-1] if channel_conversion else img))
    return images


def write_prediction_report(preds: Predictions,
                            dataset,
                            out_dir: str,
                            num_grid: int = 32,
                            num_mistakes: int = 24,
                            channel_conversion: bool = False,
                            seed: int = 0) -> Dict[str, str]:
    """Tables and figures of ``preds`` in ``out_dir``.

    Files: ``per_class_accuracy.{csv,md}``, ``confusion_matrix.{csv,png}``,
    ``predictions_grid.png`` (``num_grid`` random test images, mistakes in
    red), ``confident_mistakes.{png,csv}`` (the ``num_mistakes`` wrong
    predictions with the highest score) and ``predictions.npz``.

    Returns:
        dict: Paths by kind.
    """
    os.makedirs(out_dir, exist_ok=True)
    paths = {}
    per_class = per_class_accuracy(preds)
    paths['per_class_csv'] = write_csv(
        per_class, PER_CLASS_COLUMNS,
        osp.join(out_dir, 'per_class_accuracy.csv'))
    paths['per_class_md'] = write_markdown(
        per_class,
        PER_CLASS_COLUMNS,
        osp.join(out_dir, 'per_class_accuracy.md'),
        title='Per-class accuracy')
    matrix = confusion_matrix(preds)
    matrix_rows = [
        dict(true=name, **{
            p: int(v)
            for p, v in zip(preds.classes, row)
        }) for name, row in zip(preds.classes, matrix)
    ]
    paths['confusion_csv'] = write_csv(
        matrix_rows, ['true', *preds.classes],
        osp.join(out_dir, 'confusion_matrix.csv'))
    paths['confusion_png'] = plot_confusion_matrix(
        matrix, preds.classes, osp.join(out_dir, 'confusion_matrix.png'))

    def grid(rows, name, title):
        return plot_image_grid(
            dataset_images(dataset, preds.indices[rows], channel_conversion),
            preds.labels[rows],
            preds.pred_labels[rows],
            preds.pred_scores[rows],
            preds.classes,
            osp.join(out_dir, name),
            title=title)

    shown = sample_indices(len(preds.labels), num_grid, seed)
    paths['grid_png'] = grid(shown, 'predictions_grid.png',
                             f'{len(shown)} test images (mistakes in red)')
    mistakes = confident_mistakes(preds, num_mistakes)
    paths['mistakes_csv'] = write_csv(
        mistake_rows(preds, mistakes), MISTAKE_COLUMNS,
        osp.join(out_dir, 'confident_mistakes.csv'))
    if len(mistakes):
        paths['mistakes_png'] = grid(mistakes, 'confident_mistakes.png',
                                     'Most confident mistakes')
    paths['predictions'] = preds.save(osp.join(out_dir, 'predictions.npz'))
    return paths


def evaluate_checkpoint(checkpoint: str,
                        out_dir: Optional[str] = None,
                        config=None,
                        cfg_options: Optional[dict] = None,
                        device: Optional[str] = None,
                        batch_size: Optional[int] = None,
                        num_grid: int = 32,
                        num_mistakes: int = 24,
                        progress: bool = True) -> Dict:
    """Evaluate ``checkpoint`` on its config's test set and write the report
    files.

    Reused: :func:`cifar_plugins.apis.init_model` (mmpretrain's
    ``get_model``), mmengine's ``Runner.build_dataloader``, the model's
    ``test_step``. Written here: the tables and figures
    (:func:`write_prediction_report`) and ``eval_summary.json`` (top-1/top-5,
    cross-entropy, image count, checkpoint, epoch).

    Args:
        checkpoint (str): Checkpoint path.
        out_dir (str, optional): Output folder. Defaults to
            ``<checkpoint folder>/analysis/<checkpoint name>``.
        config (str | Config, optional): Defaults to the config stored in
            the checkpoint.
        cfg_options (dict, optional): Overrides merged into the config (e.g.
            the test set's ``data_root``).
        device (str, optional): Defaults to CUDA when available.
        batch_size (int, optional): Test batch size override.
        num_grid (int): Images in the prediction grid. Defaults to 32.
        num_mistakes (int): Images in the mistakes grid. Defaults to 24.
        progress (bool): Show a progress bar. Defaults to True.

    Returns:
        dict: The summary, with ``paths`` of every file written.
    """
    meta = checkpoint_meta(checkpoint)
    cfg = load_config(config, checkpoint, meta)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if out_dir is None:
        name = osp.splitext(osp.basename(checkpoint))[0]
        out_dir = osp.join(
            osp.dirname(osp.abspath(checkpoint)), 'analysis', name)
    model = init_model(cfg, checkpoint, device)
    dataloader = build_test_dataloader(cfg, batch_size)
    classes = (getattr(model, '_dataset_meta', None) or {}).get('classes')
    preds = predict_dataset(
        model, dataloader, classes=classes, progress=progress)
    paths = write_prediction_report(
        preds,
        dataloader.dataset,
        out_dir,
        num_grid=num_grid,
        num_mistakes=num_mistakes,
        channel_conversion=bool(
            getattr(model.data_preprocessor, '_channel_conversion', False)))
    summary = dict(
        checkpoint=osp.abspath(checkpoint),
        epoch=meta.get('epoch'),
        images=int(len(preds.labels)),
        num_classes=preds.num_classes,
        top1=preds.topk_accuracy(1),
        top5=preds.topk_accuracy(5),
        cross_entropy=preds.cross_entropy(),
        mistakes=int((~preds.correct).sum()))
    paths['summary'] = osp.join(out_dir, SUMMARY_NAME)
    with open(paths['summary'], 'w') as f:
        json.dump(dict(summary, paths=paths), f, indent=2)
    return dict(summary, paths=paths)
