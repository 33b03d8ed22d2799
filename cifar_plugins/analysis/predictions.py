"""Evaluate a classifier on a dataset and describe its predictions.

Per-class accuracy, the confusion matrix, a grid of images with their true
and predicted labels, and the most confident mistakes.
"""
import os.path as osp
import sys
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.utils import ProgressBar
from mmpretrain.evaluation import ConfusionMatrix

from .figures import new_figure, save_figure

CORRECT_COLOR, MISTAKE_COLOR = '#1a7f37', '#cf222e'
# ``test_lossless`` marks the restored test images that are exact (0-999); the
# others were decoded from a quality-75 JPEG copy (see
# ../shared/cifar/README.md)
RESTORED_TEST_MASK = osp.join('..', 'shared', 'cifar', 'cifar10', 'labels.npz')


@dataclass
class Predictions:
    """Class probabilities of a model on a dataset.

    Attributes:
        scores (np.ndarray): ``(N, C)`` softmax scores.
        labels (np.ndarray): ``(N,)`` true labels.
        indices (np.ndarray): ``(N,)`` dataset index of each row.
        classes (list[str]): Class names.
    """
    scores: np.ndarray
    labels: np.ndarray
    indices: np.ndarray
    classes: List[str]

    @property
    def num_classes(self) -> int:
        return self.scores.shape[1]

    @property
    def pred_labels(self) -> np.ndarray:
        return self.scores.argmax(1)

    @property
    def pred_scores(self) -> np.ndarray:
        return self.scores.max(1)

    @property
    def correct(self) -> np.ndarray:
        return self.pred_labels == self.labels

    def topk_accuracy(self, k: int) -> float:
        """Top-k accuracy in %."""
        k = min(k, self.num_classes)
        topk = np.argsort(-self.scores, axis=1)[:, :k]
        return 100.0 * float((topk == self.labels[:, None]).any(1).mean())

    def cross_entropy(self, eps: float = 1e-12) -> float:
        """Mean ``-log p(true class)`` (as :class:`ValLoss` computes it)."""
        true_prob = self.scores[np.arange(len(self.labels)), self.labels]
        return float(-np.log(np.maximum(true_prob, eps)).mean())

    def save(self, path: str) -> str:
        np.savez_compressed(
            path,
            scores=self.scores,
            labels=self.labels,
            indices=self.indices,
            classes=np.array(self.classes))
        return path

    @classmethod
    def load(cls, path: str) -> 'Predictions':
        with np.load(path, allow_pickle=False) as data:
            return cls(data['scores'], data['labels'], data['indices'],
                       [str(c) for c in data['classes']])


@torch.no_grad()
def predict_dataset(model,
                    dataloader,
                    classes: Optional[Sequence[str]] = None,
                    progress: bool = True) -> Predictions:
    """Run ``model.test_step`` over ``dataloader`` and gather the scores.

    Reused: the model's own ``test_step`` (data preprocessor + head
    ``predict``), mmengine's :class:`ProgressBar` (on stderr).

    Args:
        model: An mmpretrain classifier in eval mode.
        dataloader: Its test dataloader (e.g. ``Runner.build_dataloader``).
        classes (Sequence[str], optional): Class names; defaults to the
            dataset's ``metainfo['classes']``.
        progress (bool): Show a progress bar. Defaults to True.
    """
    dataset = dataloader.dataset
    bar = ProgressBar(len(dataset), file=sys.stderr) if progress else None
    scores, labels, indices = [], [], []
    for data in dataloader:
        samples = model.test_step(data)
        scores.append(
            torch.stack([s.pred_score for s in samples]).float().cpu())
        labels.append(
            torch.cat([s.gt_label.reshape(-1)[:1] for s in samples]).cpu())
        indices.extend(s.metainfo.get('sample_idx', -1) for s in samples)
        if bar is not None:
            bar.update(len(samples))
    if bar is not None:
        bar.file.write('\n')
    if not scores:
        raise ValueError('The dataloader yielded no data.')
    if classes is None:
        classes = dataset.metainfo.get('classes')
    scores = torch.cat(scores).numpy()
    classes = list(classes) if classes else [
        str(i) for i in range(scores.shape[1])
    ]
    return Predictions(
        scores=scores,
        labels=torch.cat(labels).numpy().astype(np.int64),
        indices=np.asarray(indices, dtype=np.int64),
        classes=classes)


def exact_part_report(correct: np.ndarray,
                      exact: np.ndarray,
                      whole: bool = True) -> str:
    """Accuracy on the exact and the JPEG-decoded parts of the restored test
    set, one line.

    Args:
        correct (np.ndarray): ``(N,)`` bools, prediction == label.
        exact (np.ndarray): ``(N,)`` bools, the image is exact
            (``RESTORED_TEST_MASK``).
        whole (bool): Also report the JPEG-decoded part and all images.
            Defaults to True.
    """
    report = (f'exact images ({exact.sum()}): '
              f'{100 * correct[exact].mean():.2f}%')
    if whole:
        report += (f', JPEG-decoded ({(~exact).sum()}): '
                   f'{100 * correct[~exact].mean():.2f}%, all: '
                   f'{100 * correct.mean():.2f}%')
    return report


def confusion_matrix(preds: Predictions) -> np.ndarray:
    """``(C, C)`` counts, rows = true class, columns = predicted class.

    Reused: :meth:`mmpretrain.evaluation.ConfusionMatrix.calculate`.
    """
    return ConfusionMatrix.calculate(
        torch.from_numpy(preds.scores),
        torch.from_numpy(preds.labels)).numpy()


def per_class_accuracy(preds: Predictions) -> List[Dict]:
    """One row per class: images, correct, accuracy (%), most frequent wrong
    guess."""
    matrix = confusion_matrix(preds)
    totals = matrix.sum(1)
    off_diagonal = matrix - np.diag(np.diag(matrix))
    rows = []
    for c, name in enumerate(preds.classes):
        confused = int(off_diagonal[c].argmax())
        n_confused = int(off_diagonal[c, confused])
        rows.append(
            dict(
                index=c,
                name=name,
                images=int(totals[c]),
                correct=int(matrix[c, c]),
                accuracy=100.0 * matrix[c, c] /
                totals[c] if totals[c] else None,
                most_confused_with=preds.classes[confused]
                if n_confused else '',
                confused_count=n_confused))
    return rows


def plot_confusion_matrix(matrix: np.ndarray, classes: Sequence[str],
                          path: str) -> str:
    """Confusion matrix coloured by row-normalised rate, counts written in the
    cells when there are at most 20 classes."""
    n = len(classes)
    rates = matrix / np.maximum(matrix.sum(1, keepdims=True), 1)
    side = max(6.0, min(0.45 * n + 2.0, 24.0))
    fig, ax = new_figure((side + 1.2, side))
    image = ax.imshow(
        rates, cmap='Blues', vmin=0.0, vmax=1.0, interpolation='nearest')
    fig.colorbar(
        image,
        ax=ax,
        fraction=0.046,
        pad=0.04,
        label='fraction of the true class')
    fontsize = 9 if n <= 20 else 5
    ax.set_xticks(np.arange(n), labels=classes, rotation=90, fontsize=fontsize)
    ax.set_yticks(np.arange(n), labels=classes, fontsize=fontsize)
    ax.set(
        xlabel='predicted class',
        ylabel='true class',
        title='Confusion matrix')
    if n <= 20:
        for i in range(n):
            for j in range(n):
                if matrix[i, j]:
                    ax.text(
                        j,
                        i,
                        str(int(matrix[i, j])),
                        ha='center',
                        va='center',
                        fontsize=8,
                        color='white' if rates[i, j] > 0.5 else 'black')
    return save_figure(fig, path)


def plot_image_grid(images: Sequence[np.ndarray],
                    true_labels: Sequence[int],
                    pred_labels: Sequence[int],
                    pred_scores: Sequence[float],
                    classes: Sequence[str],
                    path: str,
                    title: str = '',
                    ncols: int = 8) -> str:
    """Images with ``true`` / ``pred (score)`` captions; mistakes framed in
    red.

    Args:
        images (Sequence[np.ndarray]): ``H x W x 3`` uint8 RGB images.
        true_labels, pred_labels, pred_scores: One entry per image.
        classes (Sequence[str]): Class names.
        path (str): Output PNG.
        title (str): Figure title.
        ncols (int): Images per row. Defaults to 8.
    """
    count = len(images)
    if count == 0:
        raise ValueError('No images to draw.')
    ncols = min(ncols, count)
    nrows = -(-count // ncols)
    fig, axes = new_figure((1.6 * ncols, 1.9 * nrows + 0.5), nrows, ncols)
    axes = np.atleast_1d(axes).reshape(-1)
    for ax in axes[count:]:
        ax.axis('off')
    for ax, img, true, pred, score in zip(axes, images, true_labels,
                                          pred_labels, pred_scores):
        color = CORRECT_COLOR if true == pred else MISTAKE_COLOR
        ax.imshow(img, interpolation='nearest')
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_edgecolor(color)
            spine.set_linewidth(1 if true == pred else 3)
        ax.set_title(
            f'true: {classes[true]}\npred: {classes[pred]} {score:.2f}',
            fontsize=7,
            color=color)
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def sample_indices(count: int, num: int, seed: int = 0) -> np.ndarray:
    """``num`` distinct row indices out of ``count``, reproducibly, in
    order."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(count, size=min(num, count), replace=False))


def confident_mistakes(preds: Predictions, num: int) -> np.ndarray:
    """Rows of the ``num`` wrong predictions with the highest predicted
    score."""
    wrong = np.flatnonzero(~preds.correct)
    order = np.argsort(-preds.pred_scores[wrong], kind='stable')
    return wrong[order[:num]]


def mistake_rows(preds: Predictions, rows: Sequence[int]) -> List[Dict]:
    """Table rows for the given prediction rows (dataset index, true,
    predicted)."""
    return [
        dict(
            rank=rank + 1,
            dataset_index=int(preds.indices[r]),
            true=preds.classes[preds.labels[r]],
            predicted=preds.classes[preds.pred_labels[r]],
            score=float(preds.pred_scores[r]),
            true_class_score=float(preds.scores[r, preds.labels[r]]))
        for rank, r in enumerate(rows)
    ]
