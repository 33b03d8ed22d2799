"""The CIFAR-100 configs in configs/cifar100: the attention ablations, the schedule switch,
the metafile, and short training runs of every attention-method and block-type config."""
import glob
import json
import math
import os.path as osp

import pytest
import torch
import torch.nn as nn
import yaml
from mmengine.config import Config
from mmengine.optim import OptimWrapper, build_optim_wrapper
from mmengine.optim.scheduler import OneCycleLR
from mmpretrain.structures import DataSample

import cifar_plugins  # noqa: F401
from cifar_plugins.registry import MODELS
from helpers import REPO, python_tool, tiny_options

# the attention-method configs; the block-type configs are METHOD_CONFIGS below
ATTENTION_CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs', 'cifar100', 'slim_resnet*.py')))


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def test_cifar100_configs_exist():
    names = {osp.basename(p) for p in ATTENTION_CONFIGS}
    for suffix in ('', '_eca', '_eca_k3', '_se', '_msca', '_msca_7only', '_msca_bare', '_lsk',
                   '_lsk_bare', '_group_softmax', '_eca_neck'):
        assert f'slim_resnet{suffix}_cifar100.py' in names


def test_ablation_configs_differ_as_documented():
    def backbone_attention(name):
        cfg = Config.fromfile(osp.join(REPO, 'configs', 'cifar100', name))
        return cfg.model.backbone.get('attention'), cfg.model.neck

    assert backbone_attention('slim_resnet_cifar100.py')[0] is None
    assert backbone_attention('slim_resnet_eca_k3_cifar100.py')[0]['kernel_size'] == 3
    assert 'kernel_size' not in backbone_attention('slim_resnet_eca_cifar100.py')[0]
    assert backbone_attention('slim_resnet_msca_7only_cifar100.py')[0]['branches'] == (7, )
    for name in ('msca', 'lsk'):  # the paper's unit by default, the bare module as ablation
        assert backbone_attention(f'slim_resnet_{name}_cifar100.py')[0]['form'] == 'unit'
        assert backbone_attention(f'slim_resnet_{name}_bare_cifar100.py')[0]['form'] == 'bare'
    attention, neck = backbone_attention('slim_resnet_eca_neck_cifar100.py')
    assert attention is None and neck.type == 'AttentionNeck' and neck.attention.type == 'ECA'


def test_budget_schedule_switch(monkeypatch):
    path = osp.join(REPO, 'configs', 'cifar100', 'slim_resnet_eca_cifar100.py')
    full = Config.fromfile(path)
    assert full.train_cfg.max_epochs == 200
    assert [s.type for s in full.param_scheduler] == ['LinearLR', 'CosineAnnealingLR']
    assert full.optim_wrapper.optimizer.nesterov and full.optim_wrapper.optimizer.lr == 0.1
    monkeypatch.setenv('CIFAR100_SCHEDULE', 'cifar100_budget')
    budget = Config.fromfile(path)
    assert budget.train_cfg.max_epochs == 2 and budget.model == full.model
    (sched, ) = budget.param_scheduler
    kwargs = {k: v for k, v in sched.items() if k not in ('type', 'convert_to_iter_based')}
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
    scheduler = OneCycleLR.build_iter_from_epoch(optimizer, epoch_length=10, **kwargs)
    lrs = []
    for _ in range(20):  # 2 epochs of 10 iterations
        lrs.append(optimizer.param_groups[0]['lr'])
        optimizer.step()
        scheduler.step()
    assert max(lrs) == pytest.approx(0.1, rel=0.05) and lrs.index(max(lrs)) in (4, 5)
    assert lrs[0] < 0.01 and lrs[-1] < 0.01


def test_metafile_entries_match_their_configs():
    with open(osp.join(REPO, 'configs', 'cifar100', 'metafile.yml')) as f:
        meta = yaml.safe_load(f)
    collections = {c['Name'] for c in meta['Collections']}
    names = [m['Name'] for m in meta['Models']]
    assert len(names) == len(set(names))
    for entry in meta['Models']:
        assert entry['In Collection'] in collections, entry['Name']
        assert entry['Metadata']['Training Data'] == 'CIFAR-100'
        cfg = Config.fromfile(osp.join(REPO, entry['Config']))
        if 'Parameters' in entry['Metadata']:
            assert n_params(MODELS.build(cfg.model)) == entry['Metadata']['Parameters'], \
                entry['Name']


@pytest.mark.parametrize('path', ATTENTION_CONFIGS, ids=osp.basename)
def test_every_attention_config_trains_a_few_iterations(path):
    torch.manual_seed(0)
    cfg = Config.fromfile(path)
    model = MODELS.build(cfg.model)
    model.init_weights()
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9))
    size = cfg.get('input_size', 32)
    data = dict(inputs=[torch.randint(0, 256, (3, size, size), dtype=torch.uint8)
                        for _ in range(4)],
                data_samples=[DataSample().set_gt_label(i * 7) for i in range(4)])
    before = [p.detach().clone() for p in model.backbone.parameters()]
    for _ in range(2):
        losses = model.train_step(data, optim)
        assert math.isfinite(losses['loss'].item())
    changed = sum(not torch.equal(a, p) for a, p in zip(before, model.backbone.parameters()))
    assert changed > len(before) // 2


def test_train_tool_runs_three_iterations_of_eca(tmp_path, cifar100_root):
    config = 'configs/cifar100/slim_resnet_eca_cifar100.py'
    work_dir = str(tmp_path / 'eca')
    # 60 training images / batch 20 = 3 iterations, then validation on the 100 test images
    out = python_tool('tools/train.py', config, '--work-dir', work_dir, '--cfg-options',
                      *tiny_options(cifar100_root, extra=['train_dataloader.dataset.indices=60']))
    assert out.returncode == 0, out.stderr[-3000:]
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    with open(files[-1]) as f:
        rows = [json.loads(line) for line in f]
    losses = [r['loss'] for r in rows if 'loss' in r]
    assert len(losses) == 3 and all(math.isfinite(loss) for loss in losses)
    assert any('accuracy/top1' in r for r in rows)
    ckpt = torch.load(osp.join(work_dir, 'epoch_1.pth'), weights_only=True)
    assert 'backbone.stages.3.1.attention.conv.weight' in ckpt['state_dict']
    assert ckpt['state_dict']['head.fc.weight'].shape == (100, 256)


def test_train_tool_unknown_attention_is_one_clear_error(tmp_path, cifar100_root):
    out = python_tool('tools/train.py', 'configs/cifar100/slim_resnet_cifar100.py',
                      '--work-dir', str(tmp_path), '--cfg-options',
                      *tiny_options(cifar100_root), 'model.backbone.attention=NoSuchAttn')
    assert out.returncode == 1
    assert 'NoSuchAttn' in out.stderr and 'Known attention types' in out.stderr
    assert 'Traceback' not in out.stderr


METHOD_CONFIGS = [
    'slim_convnext_cifar100.py', 'slim_convnext_k3_cifar100.py',
    'slim_ghost_cifar100.py', 'slim_ghost_s3_cifar100.py', 'slim_ghost_dw7_cifar100.py',
    'slim_ghost_dw7_eca_cifar100.py', 'slim_gatedghost_dw3_cifar100.py',
    'slim_gatedghost_dw3_eca_cifar100.py', 'slim_gatedghost_dw7_cifar100.py',
    'slim_gatedghost_eca_cifar100.py',
    'slim_hornet_cifar100.py', 'slim_hornet_order2_cifar100.py', 'slim_hornet_order3_cifar100.py',
    'slim_resnest_cifar100.py', 'slim_resnest_radix1_cifar100.py',
    'slim_resnest_radix4_cifar100.py',
    'slim_csp_cifar100.py', 'slim_csp_ratio025_cifar100.py', 'slim_csp_ratio075_cifar100.py',
    'slim_coatnet_cifar100.py', 'slim_coatnet_ccct_cifar100.py',
    'slim_gmlp_cifar100.py', 'slim_gmlp_last_cifar100.py',
    'combo_ghost_eca_cifar100.py', 'combo_csp_msca_cifar100.py', 'combo_coatnet_lsk_cifar100.py',
]
STEPS = 3


def tiny_model(cfg):
    """The config's model at a quarter of the widths and one block per stage."""
    backbone = cfg.model.backbone
    backbone.width_mult = 0.25
    backbone.depths = (1, 1, 1, 1)
    model = MODELS.build(cfg.model)
    cfg.model.head.in_channels = model.backbone.stage_channels[-1]
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def test_method_configs_exist():
    for name in METHOD_CONFIGS:
        assert osp.isfile(osp.join(REPO, 'configs', 'cifar100', name)), name


@pytest.mark.parametrize('name', METHOD_CONFIGS)
def test_method_trains_in_slim_resnet(name):
    torch.manual_seed(0)
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'cifar100', name))
    model = tiny_model(cfg)
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    size = cfg.get('input_size', 32)
    data = dict(inputs=torch.randint(0, 256, (4, 3, size, size), dtype=torch.uint8),
                data_samples=[DataSample().set_gt_label(label) for label in (0, 1, 2, 3)])
    model.train()
    stem_before = model.backbone.stem.conv.weight.detach().clone()
    losses = [model.train_step(data, optim_wrapper)['loss'].item() for _ in range(STEPS)]
    assert all(torch.isfinite(torch.tensor(losses))), losses
    assert losses[-1] < losses[0], f'loss did not fall on a repeated batch: {losses}'
    assert not torch.equal(stem_before, model.backbone.stem.conv.weight)

    # one more backward: every parameter, down to the stem, gets a gradient
    batch = model.data_preprocessor(data, training=True)
    loss = model(**batch, mode='loss')['loss']
    loss.backward()
    assert model.backbone.stem.conv.weight.grad.abs().sum() > 0
    unused = [n for n, p in model.named_parameters() if p.grad is None]
    assert not unused, f'parameters without gradient: {unused}'
