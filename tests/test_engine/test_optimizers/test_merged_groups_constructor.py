"""MergedGroupsOptimWrapperConstructor: same update as mmengine's default, fewer groups."""
import copy

import pytest
import torch
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

import cifar_plugins  # noqa: F401
from cifar_plugins.engine.optimizers import merge_param_groups
from cifar_plugins.models import FastCIFARNet

PARAMWISE = dict(custom_keys={'norm': dict(lr_mult=64.0, decay_mult=1 / 64)})


def optim_cfg(constructor=None):
    cfg = dict(type='OptimWrapper',
               optimizer=dict(type='SGD', lr=0.1, momentum=0.85, nesterov=True,
                              weight_decay=5e-3),
               paramwise_cfg=PARAMWISE)
    if constructor:
        cfg['constructor'] = constructor
    return cfg


def build(model, cfg):
    """The wrapper as the Runner builds it (mmpretrain scope: plugin types resolve there)."""
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return build_optim_wrapper(model, cfg)


def net():
    torch.manual_seed(0)
    return FastCIFARNet(widths=(8, 16, 16), bn_affine_weight=False, final_pool='max')


def settings_by_name(model, optimizer):
    names = {id(p): n for n, p in model.named_parameters()}
    return {names[id(p)]: (g['lr'], g['weight_decay'], g['momentum'])
            for g in optimizer.param_groups for p in g['params']}


def test_groups_merge_and_every_tensor_keeps_its_settings():
    default_model, merged_model = net(), net()
    default = build(default_model, optim_cfg()).optimizer
    merged = build(
        merged_model, optim_cfg('MergedGroupsOptimWrapperConstructor')).optimizer
    trainable = [p for p in default_model.parameters() if p.requires_grad]
    assert len(default.param_groups) == len(trainable) > 10  # one group per tensor
    # BN shifts (64x lr) and the rest
    assert len(merged.param_groups) == 2
    assert settings_by_name(merged_model, merged) == settings_by_name(default_model, default)
    by_name = settings_by_name(merged_model, merged)
    assert by_name['groups.0.norm1.bias'][0] == pytest.approx(6.4)
    assert by_name['groups.0.conv1.weight'][0] == pytest.approx(0.1)


def test_training_steps_are_bit_identical_to_the_default_constructor():
    models = [net(), net()]
    wrappers = [build(models[0], optim_cfg()),
                build(models[1], optim_cfg('MergedGroupsOptimWrapperConstructor'))]
    torch.manual_seed(1)
    batches = [torch.randn(4, 3, 32, 32) for _ in range(3)]
    for x in batches:
        for model, wrapper in zip(models, wrappers):
            loss = model(x)[0].square().mean()
            wrapper.update_params(loss)
    for (name, a), (_, b) in zip(models[0].state_dict().items(), models[1].state_dict().items()):
        assert torch.equal(a, b), name
    assert any(not torch.equal(a, b) for a, b in zip(net().state_dict().values(),
                                                     models[1].state_dict().values()))


def test_unhashable_settings_merge_too():
    a, b = (torch.nn.Parameter(torch.zeros(1)) for _ in range(2))
    merged = merge_param_groups([dict(params=[a], betas=[0.9, 0.99]),
                                 dict(params=[b], betas=[0.9, 0.99])])
    assert len(merged) == 1 and merged[0]['params'] == [a, b]


def test_merge_keeps_first_appearance_order_and_parameter_order():
    a, b, c, d = (torch.nn.Parameter(torch.zeros(1)) for _ in range(4))
    groups = [dict(params=[a], lr=1.0), dict(params=[b], lr=2.0),
              dict(params=[c], lr=1.0), dict(params=[d], lr=2.0, weight_decay=0.0)]
    merged = merge_param_groups(copy.copy(groups))
    assert [g.get('lr') for g in merged] == [1.0, 2.0, 2.0]
    assert merged[0]['params'] == [a, c] and merged[1]['params'] == [b]
    assert merged[2] == dict(params=[d], lr=2.0, weight_decay=0.0)
