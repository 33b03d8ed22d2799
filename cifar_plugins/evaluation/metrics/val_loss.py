"""Validation loss as an mmengine metric."""
from typing import List, Sequence

import torch
from mmengine.evaluator import BaseMetric

from cifar_plugins.registry import METRICS


@METRICS.register_module()
class ValLoss(BaseMetric):
    """Mean cross-entropy of the true class over the evaluated set.

    mmpretrain evaluates accuracy only, so training logs have no validation
    loss. Add this metric next to ``Accuracy`` in ``val_evaluator``::

        val_evaluator = [
            dict(type='Accuracy', topk=(1, 5)),
            dict(type='ValLoss')
        ]

    and the value is logged as ``val/cross_entropy`` with the other
    validation scalars (``scalars.json``, TensorBoard, the text log). Keep
    ``Accuracy`` first: ``CheckpointHook(save_best='auto')`` tracks the first
    metric. (Not ``val/loss``: mmengine prints every ``val/loss*`` scalar in
    each validation-iteration line, which would show the previous epoch's
    value while the next validation runs.)

    The loss is always plain cross-entropy, ``-log p(true class)``, computed
    from the ``pred_score`` (softmax of the logits) that mmpretrain's
    ``ClsHead.predict`` stores in every ``DataSample``; its mean equals
    ``F.cross_entropy(logits, labels)``. Configs trained with label smoothing,
    Mixup or CutMix optimise a different training loss (smoothed or mixed
    targets), whose level is not comparable to this one; compare the trends.

    Reused: :class:`mmengine.evaluator.BaseMetric` (collection across
    processes, prefixing). Written here: the per-sample loss.

    Args:
        eps (float): Probabilities are clamped to at least ``eps`` so a
            confidently wrong sample whose softmax underflowed to 0 adds
            ``-log(eps)`` instead of ``inf``. Defaults to 1e-12.
        collect_device (str): Device used to gather results across
            processes, ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): Key prefix. Defaults to ``'val'``, giving
            ``val/cross_entropy``.
    """

    default_prefix = 'val'

    def __init__(self,
                 eps: float = 1e-12,
                 collect_device: str = 'cpu',
                 prefix: str = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.eps = eps

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Store the per-sample cross-entropy of one batch.

        Args:
            data_batch: The batch from the dataloader (unused).
            data_samples (Sequence[dict]): Model outputs with ``pred_score``
                (class probabilities) and ``gt_label``.
        """
        if not data_samples:
            return
        if 'pred_score' not in data_samples[0]:
            raise ValueError(
                'ValLoss needs "pred_score" in the predictions; the '
                'model head must output class scores (ClsHead.predict).')
        scores = torch.stack([s['pred_score'] for s in data_samples]).float()
        labels = torch.cat(
            [s['gt_label'].reshape(-1)[:1] for s in data_samples])
        labels = labels.to(scores.device).long()
        true_prob = scores.gather(1, labels[:, None]).squeeze(1)
        losses = -true_prob.clamp_min(self.eps).log()
        self.results.extend(losses.cpu().unbind(0))

    def compute_metrics(self, results: List[torch.Tensor]) -> dict:
        """Average the per-sample losses of the whole set.

        Args:
            results (list[torch.Tensor]): Per-sample losses from all processes.

        Returns:
            dict: ``{'cross_entropy': mean cross-entropy}``.
        """
        return {'cross_entropy': torch.stack(results).mean().item()}
