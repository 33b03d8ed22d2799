"""tools/analysis/eval_checkpoint.py: per-class accuracy, confusion matrix, prediction grids."""
import json
import os.path as osp
import pickle

import numpy as np
import pytest

import cifar_plugins  # noqa: F401
from cifar_plugins.analysis import Predictions, load_run
from helpers import count_color, markdown_rows, png, read_csv, run_cli
from tiny_runs import TRAINED_EPOCHS

MISTAKE_RED = np.array([207, 34, 46])  # '#cf222e'


@pytest.fixture(scope='module')
def evaluation(run_dir, tmp_path_factory):
    out_dir = str(tmp_path_factory.mktemp('eval'))
    ckpt = osp.join(run_dir, f'epoch_{TRAINED_EPOCHS}.pth')
    run_cli('tools/analysis/eval_checkpoint.py',
            ['eval_checkpoint.py', ckpt, '--out-dir', out_dir, '--device', 'cpu'])
    with open(osp.join(out_dir, 'eval_summary.json')) as f:
        return json.load(f)


def fixture_labels(data_root):
    with open(osp.join(data_root, 'cifar-10-batches-py', 'test_batch'), 'rb') as f:
        return np.asarray(pickle.load(f)['labels'])


def test_evaluation_agrees_with_training_log(evaluation, run_dir):
    logged = load_run(run_dir).last
    assert evaluation['epoch'] == TRAINED_EPOCHS and evaluation['images'] == 100
    assert evaluation['top1'] == pytest.approx(logged.top1, abs=1e-4)
    assert evaluation['top5'] == pytest.approx(logged.top5, abs=1e-4)
    assert evaluation['cross_entropy'] == pytest.approx(logged.val_loss, rel=1e-4)


def test_per_class_table_and_confusion_matrix(evaluation, cifar10_root):
    paths = evaluation['paths']
    labels = fixture_labels(cifar10_root)
    per_class = read_csv(paths['per_class_csv'])
    assert len(per_class) == 10
    assert [int(r['images']) for r in per_class] == np.bincount(labels, minlength=10).tolist()
    for row in per_class:
        expected = 100.0 * int(row['correct']) / int(row['images'])
        assert float(row['accuracy']) == pytest.approx(expected, abs=1e-3)
    assert sum(int(r['correct']) for r in per_class) == round(evaluation['top1'])
    matrix = np.array([[int(v) for v in list(r.values())[1:]]
                       for r in read_csv(paths['confusion_csv'])])
    assert matrix.shape == (10, 10) and matrix.sum() == 100
    assert matrix.sum(1).tolist() == [int(r['images']) for r in per_class]
    assert np.diag(matrix).tolist() == [int(r['correct']) for r in per_class]
    preds = Predictions.load(paths['predictions'])
    assert (preds.labels == labels[preds.indices]).all()
    assert preds.topk_accuracy(1) == pytest.approx(evaluation['top1'])
    with open(paths['per_class_md']) as f:
        table = markdown_rows(f.read())
    assert len(table) == 11 and table[1][1] == 'airplane'
    assert png(paths['confusion_png']).shape == (650, 770, 3)


def test_prediction_grids(evaluation):
    paths = evaluation['paths']
    grid = png(paths['grid_png'])
    assert grid.shape == (810, 1280, 3)  # 32 images, 4 rows of 8
    mistakes = read_csv(paths['mistakes_csv'])
    assert len(mistakes) == min(24, evaluation['mistakes'])
    assert all(r['true'] != r['predicted'] for r in mistakes)
    scores = [float(r['score']) for r in mistakes]
    assert scores == sorted(scores, reverse=True)
    assert all(float(r['true_class_score']) < float(r['score']) for r in mistakes)
    if mistakes:
        image = png(paths['mistakes_png'])
        rows = -(-len(mistakes) // 8)
        assert image.shape == (int(round(100 * (1.9 * rows + 0.5))),
                               160 * min(8, len(mistakes)), 3)
        assert count_color(image, MISTAKE_RED) > 200 * len(mistakes)  # red frames
    if evaluation['mistakes'] < 100:  # correct images are framed in green, not red
        assert count_color(grid, (26, 127, 55)) > 0
