"""ValLoss: the validation cross-entropy metric and its logging."""
import math
import os.path as osp
import pickle

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmpretrain.structures import DataSample

import cifar_plugins  # noqa: F401
from cifar_plugins.analysis import load_run
from cifar_plugins.apis import init_model
from cifar_plugins.registry import METRICS
from helpers import REPO
from tiny_runs import TRAINED_EPOCHS, trained_run


@pytest.fixture(scope='module')
def run_dir(tmp_path_factory, cifar10_root):
    return trained_run(tmp_path_factory, cifar10_root)


def cross_entropy_by_hand(logits, labels, eps=1e-12):
    """mean_i -log max(p_i,y_i, eps) with p = softmax(z), in float64; eps is ValLoss's
    floor (a model trained on the random synthetic labels can be sure and wrong)."""
    z = logits.double()
    log_norm = z.max(1).values + (z - z.max(1, keepdim=True).values).exp().sum(1).log()
    log_p = z[torch.arange(len(labels)), labels] - log_norm
    return (-log_p.clamp_min(math.log(eps))).mean().item()


def read_test_split(data_root):
    """(uint8 N x 3 x 32 x 32 RGB tensor, int64 labels) read from the fixture's
    official-format test file."""
    with open(osp.join(data_root, 'cifar-10-batches-py', 'test_batch'), 'rb') as f:
        batch = pickle.load(f)
    return (torch.from_numpy(batch['data'].reshape(-1, 3, 32, 32)),
            torch.tensor(batch['labels']).long())


@pytest.fixture(scope='module')
def trained_model(run_dir):
    return init_model(None, osp.join(run_dir, f'epoch_{TRAINED_EPOCHS}.pth'), 'cpu')


def test_val_loss_equals_cross_entropy_of_logits(trained_model, cifar10_root):
    model = trained_model
    images, labels = read_test_split(cifar10_root)
    images, labels = images[:8], labels[:8]
    batch = dict(inputs=list(images),
                 data_samples=[DataSample().set_gt_label(int(y)) for y in labels])
    with torch.no_grad():
        outputs = model.val_step(batch)
        logits = model(model.data_preprocessor(batch, False)['inputs'], mode='tensor')
    metric = METRICS.build(dict(type='ValLoss'))
    metric.process(batch, [o.to_dict() for o in outputs])
    result = metric.evaluate(len(labels))
    assert list(result) == ['val/cross_entropy']
    expected = cross_entropy_by_hand(logits, labels)
    assert result['val/cross_entropy'] == pytest.approx(expected, rel=1e-5)
    # the scores are far from uniform and the true labels matter
    assert abs(expected - math.log(10)) > 0.1
    shifted = cross_entropy_by_hand(logits, (labels + 1) % 10)
    assert abs(shifted - expected) > 0.1


def test_val_loss_is_finite_when_true_class_probability_underflows():
    metric = METRICS.build(dict(type='ValLoss', eps=1e-12))
    sure_and_wrong = DataSample().set_gt_label(1).set_pred_score(torch.tensor([1.0, 0.0]))
    right = DataSample().set_gt_label(0).set_pred_score(torch.tensor([0.5, 0.5]))
    metric.process(None, [sure_and_wrong.to_dict(), right.to_dict()])
    value = metric.evaluate(2)['val/cross_entropy']
    assert value == pytest.approx((-math.log(1e-12) + math.log(2)) / 2)


def test_val_loss_without_scores_is_a_clear_error():
    metric = METRICS.build(dict(type='ValLoss'))
    only_label = DataSample().set_gt_label(1).set_pred_label(1)
    with pytest.raises(ValueError, match='needs "pred_score"'):
        metric.process(None, [only_label.to_dict()])


@pytest.mark.parametrize('base', ['cifar10_bs128.py', 'cifar100_bs128.py'])
def test_dataset_configs_evaluate_accuracy_then_val_loss(base):
    cfg = Config.fromfile(osp.join(REPO, 'configs', '_base_', 'datasets', base))
    assert [m['type'] for m in cfg.val_evaluator] == ['Accuracy', 'ValLoss']
    assert cfg.test_evaluator == cfg.val_evaluator


def test_logged_val_loss_matches_checkpoint_recomputed(run_dir, trained_model,
                                                       cifar10_root):
    """The val/cross_entropy logged at the last epoch equals the cross-entropy
    of the saved weights on the test split, recomputed by hand."""
    run = load_run(run_dir)
    assert [e.epoch for e in run.val_epochs] == list(range(1, TRAINED_EPOCHS + 1))
    assert all(np.isfinite(e.val_loss) and e.val_loss > 0 for e in run.val_epochs)
    images, labels = read_test_split(cifar10_root)
    mean = torch.tensor([125.307, 122.961, 113.8575]).view(1, 3, 1, 1)
    std = torch.tensor([51.5865, 50.847, 51.255]).view(1, 3, 1, 1)
    with torch.no_grad():
        logits = trained_model((images.float() - mean) / std, mode='tensor')
    expected = cross_entropy_by_hand(logits, labels)
    assert run.last.val_loss == pytest.approx(expected, rel=1e-4)
    top1 = 100.0 * (logits.argmax(1) == labels).double().mean().item()
    assert run.last.top1 == pytest.approx(top1)
