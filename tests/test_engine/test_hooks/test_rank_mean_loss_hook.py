"""RankMeanLossHook without distribution (its two-process test is in
tests/test_compat/test_sync_batchnorm.py, which runs both in the same processes)."""
import torch

import cifar_plugins  # noqa: F401  (applies the patches)
from cifar_plugins.engine.hooks import RankMeanLossHook


def test_rank_mean_loss_hook_is_a_no_op_without_distribution():
    loss = torch.tensor(2.5)
    outputs = {'loss': loss}
    RankMeanLossHook().after_train_iter(None, 0, outputs=outputs)
    assert outputs['loss'] is loss
    RankMeanLossHook().after_train_iter(None, 0, outputs=None)


def test_hook_runs_before_runtime_info_hook():
    from mmengine.hooks import RuntimeInfoHook
    from mmengine.runner import get_priority
    assert get_priority(RankMeanLossHook.priority) < get_priority(RuntimeInfoHook.priority)
