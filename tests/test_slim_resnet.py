"""SlimResNet, its block interface, the CIFAR-100 configs and a short training run."""
import glob
import json
import math
import os.path as osp

import pytest
import torch
import yaml
import torch.nn as nn
from mmcv.cnn.bricks import DropPath
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.optim.scheduler import OneCycleLR
from mmpretrain.models.backbones import ResNet_CIFAR
from mmpretrain.structures import DataSample

import cifar_plugins  # noqa: F401
from cifar_plugins.models import (ECA, SE, ChannelGroupSoftmax, SlimBasicBlock, SlimBottleneck,
                                  SlimResNet)
from cifar_plugins.registry import MODELS
from helpers import REPO, python_tool, tiny_options

# the attention-method configs; the block-type configs are trained in test_slim_methods_train.py
ATTENTION_CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs', 'cifar100', 'slim_resnet*.py')))
TINY = dict(depths=(1, 1, 1, 1), width_mult=0.125)  # widths 8-16-32-64


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def blocks(net):
    return [b for stage in net.stages for b in stage]


@MODELS.register_module(name='_TestRecordingStage', force=True)
class RecordingStage(nn.Module):
    """A whole-stage class (``is_stage``): one strided conv, records its arguments."""

    is_stage = True
    calls = []

    def __init__(self, in_channels, out_channels, num_blocks, stride, attention,
                 drop_path_rates, norm_cfg, act_cfg, tag=None):
        super().__init__()
        RecordingStage.calls.append(dict(
            in_channels=in_channels, out_channels=out_channels, num_blocks=num_blocks,
            stride=stride, attention=attention, drop_path_rates=drop_path_rates,
            norm_cfg=norm_cfg, act_cfg=act_cfg, tag=tag))
        self.conv = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1)

    def forward(self, x):
        return self.conv(x)


class ZeroAttention(nn.Module):
    """Attention that removes the residual branch entirely."""

    def __init__(self, channels):
        super().__init__()

    def forward(self, x):
        return torch.zeros_like(x)


# ---------------------------------------------------------------- widths and params

@pytest.mark.parametrize('width_mult,expected', [
    (0.5, (32, 64, 128, 256)),
    (0.25, (16, 32, 64, 128)),
    (0.3, (24, 40, 80, 152)),  # 19.2 -> 16 would lose >10%, so 24
    (0.05, (8, 8, 16, 24)),
])
def test_width_mult_rounds_to_multiples_of_8(width_mult, expected):
    net = SlimResNet(depths=(1, 1, 1, 1), width_mult=width_mult)
    assert net.stage_channels == expected
    assert [stage[-1].conv2.conv.out_channels for stage in net.stages] == list(expected)
    assert net.stem.conv.out_channels == expected[0]
    assert SlimResNet(depths=(1, 1, 1, 1), stem_channels=24).stem.conv.out_channels == 24


def test_baseline_parameter_count_formula():
    def conv_bn(cin, cout, k):
        return cin * cout * k * k + 2 * cout

    widths, expected, cin = (32, 64, 128, 256), conv_bn(3, 32, 3), 32
    for w in widths:
        for i in range(2):
            expected += conv_bn(cin, w, 3) + conv_bn(w, w, 3)
            if cin != w:  # first block of stages 2-4: 1x1 projection
                expected += conv_bn(cin, w, 1)
            cin = w
    assert n_params(SlimResNet()) == expected


def test_full_width_matches_mmpretrain_resnet18_cifar():
    assert n_params(SlimResNet(width_mult=1.0)) == n_params(ResNet_CIFAR(depth=18))


def test_bottleneck_parameter_count():
    def conv_bn(cin, cout, k):
        return cin * cout * k * k + 2 * cout

    block = SlimBottleneck(64, 128, stride=2)  # middle width 128 / 4 = 32
    expected = conv_bn(64, 32, 1) + conv_bn(32, 32, 3) + conv_bn(32, 128, 1) + conv_bn(64, 128, 1)
    assert n_params(block) == expected
    assert SlimBottleneck(64, 64, expansion=2).conv1.conv.out_channels == 32
    with pytest.raises(ValueError, match='divisible by expansion'):
        SlimBottleneck(64, 66)


# ---------------------------------------------------------------- outputs

@pytest.mark.parametrize('out_indices,shapes', [
    ((0, 1, 2, 3), [(2, 32, 32, 32), (2, 64, 16, 16), (2, 128, 8, 8), (2, 256, 4, 4)]),
    ((3, ), [(2, 256, 4, 4)]),
    ((-1, 1), [(2, 64, 16, 16), (2, 256, 4, 4)]),
])
def test_output_shapes_for_out_indices(out_indices, shapes):
    net = SlimResNet(depths=(1, 1, 1, 1), out_indices=out_indices)
    outs = net(torch.randn(2, 3, 32, 32))
    assert [tuple(o.shape) for o in outs] == shapes


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match='out_indices'):
        SlimResNet(out_indices=(4, ))
    with pytest.raises(ValueError, match='one entry per stage'):
        SlimResNet(depths=(2, 2, 2))
    with pytest.raises(ValueError, match='depths must be positive'):
        SlimResNet(depths=(2, 0, 2, 2))
    with pytest.raises(ValueError, match='attention lists 3 entries for 4 stages'):
        SlimResNet(attention=['eca', None, None])
    with pytest.raises(ValueError, match="sets \\['stride'\\]"):
        SlimResNet(block=dict(type='SlimBasicBlock', stride=2))
    with pytest.raises(KeyError, match='NoSuchBlock.*registry'):
        SlimResNet(block=dict(type='NoSuchBlock'))


# ---------------------------------------------------------------- blocks and stages

def test_per_stage_block_list_and_extra_kwargs():
    net = SlimResNet(depths=(1, 2, 1, 1), widths=(64, 128, 256, 512), block=[
        dict(type='SlimBasicBlock'), dict(type='SlimBottleneck', expansion=2),
        dict(type='SlimBasicBlock'), dict(type='SlimBottleneck')])
    kinds = [type(b).__name__ for b in blocks(net)]
    assert kinds == ['SlimBasicBlock', 'SlimBottleneck', 'SlimBottleneck', 'SlimBasicBlock',
                     'SlimBottleneck']
    assert net.stages[1][0].conv1.conv.out_channels == 32  # 64 / expansion 2
    assert net.stages[3][0].conv1.conv.out_channels == 64  # 256 / default expansion 4
    assert net(torch.randn(1, 3, 32, 32))[0].shape == (1, 256, 4, 4)


def test_is_stage_class_builds_a_whole_stage_once():
    RecordingStage.calls.clear()
    net = SlimResNet(depths=(2, 3, 1, 2), drop_path_rate=0.7, attention='eca', block=[
        dict(type='SlimBasicBlock'), dict(type='_TestRecordingStage', tag='mine'),
        dict(type='SlimBasicBlock'), dict(type='_TestRecordingStage')])
    assert len(RecordingStage.calls) == 2
    first, last = RecordingStage.calls
    assert first == dict(in_channels=32, out_channels=64, num_blocks=3, stride=2,
                         attention='eca', drop_path_rates=pytest.approx([0.2, 0.3, 0.4]),
                         norm_cfg=dict(type='BN'), act_cfg=dict(type='ReLU'), tag='mine')
    assert (last['in_channels'], last['num_blocks'], last['tag']) == (128, 2, None)
    assert last['drop_path_rates'] == pytest.approx([0.6, 0.7])
    assert isinstance(net.stages[1], RecordingStage) and isinstance(net.stages[3], RecordingStage)
    assert len(net.stages[0]) == 2 and isinstance(net.stages[0][1], SlimBasicBlock)
    assert net(torch.randn(1, 3, 32, 32))[0].shape == (1, 256, 4, 4)


def test_attention_inserted_once_per_block():
    net = SlimResNet(depths=(2, 1, 3, 1), attention='eca')
    assert sum(isinstance(m, ECA) for m in net.modules()) == 7
    assert all(isinstance(b.attention, ECA) for b in blocks(net))
    assert [b.attention.kernel_size for b in blocks(net)] == [3, 3, 3, 5, 5, 5, 5]
    mixed = SlimResNet(depths=(2, 1, 3, 1), attention=[None, 'eca', dict(type='SE'), 'group_softmax'])
    count = {cls: sum(isinstance(m, cls) for m in mixed.modules())
             for cls in (ECA, SE, ChannelGroupSoftmax)}
    assert count == {ECA: 1, SE: 3, ChannelGroupSoftmax: 1}
    assert all(isinstance(b.attention, nn.Identity) for b in mixed.stages[0])


@pytest.mark.parametrize('block_cls,in_ch,out_ch,stride', [
    (SlimBasicBlock, 16, 16, 1), (SlimBasicBlock, 16, 32, 2), (SlimBottleneck, 32, 64, 2)])
def test_attention_sits_after_last_norm_before_residual_add(block_cls, in_ch, out_ch, stride):
    torch.manual_seed(0)
    x = torch.randn(2, in_ch, 8, 8)
    block = block_cls(in_ch, out_ch, stride=stride, attention='eca').eval()
    seen = {}
    block.attention.register_forward_hook(lambda m, i, o: seen.update(inp=i[0], out=o))
    out = block(x)
    convs = [block.conv1, block.conv2] + ([block.conv3] if hasattr(block, 'conv3') else [])
    branch = x
    for conv in convs:
        branch = conv(branch)
    torch.testing.assert_close(seen['inp'], branch)  # last conv + norm, no activation
    torch.testing.assert_close(out, torch.relu(block.shortcut(x) + seen['out']))
    # an attention that outputs zeros leaves only the shortcut
    zeroed = block_cls(in_ch, out_ch, stride=stride, attention=ZeroAttention).eval()
    torch.testing.assert_close(zeroed(x), torch.relu(zeroed.shortcut(x)))
    assert isinstance(zeroed.shortcut, nn.Identity) == (in_ch == out_ch and stride == 1)


def test_drop_path_rates_increase_linearly_over_all_blocks():
    net = SlimResNet(depths=(2, 2, 2, 2), drop_path_rate=0.35)
    rates = [b.drop_path.drop_prob if isinstance(b.drop_path, DropPath) else 0.0
             for b in blocks(net)]
    assert rates == pytest.approx([0.35 * i / 7 for i in range(8)])
    assert isinstance(blocks(net)[0].drop_path, nn.Identity)
    assert not any(isinstance(m, DropPath) for m in SlimResNet().modules())


def test_drop_path_drops_whole_samples_in_training_only():
    torch.manual_seed(0)
    block = SlimBasicBlock(8, 8, drop_path_rate=0.5, attention=None)
    x = torch.randn(64, 8, 4, 4)
    block.train()
    out = block(x)
    dropped = [torch.allclose(out[i], torch.relu(x[i])) for i in range(64)]
    assert 10 < sum(dropped) < 54  # about half the samples keep only the shortcut
    block.eval()
    assert sum(torch.allclose(o, torch.relu(xi)) for o, xi in zip(block(x), x)) == 0


@pytest.mark.parametrize('attention', [None, 'eca', 'se', 'msca', 'lsk', 'group_softmax'])
def test_gradients_reach_the_stem_with_every_attention(attention):
    torch.manual_seed(0)
    net = SlimResNet(**TINY, attention=attention, drop_path_rate=0.1)
    net.init_weights()
    out = net(torch.randn(2, 3, 32, 32))[0]
    (out * torch.randn_like(out)).sum().backward()
    assert net.stem.conv.weight.grad.abs().sum() > 0
    for name, p in net.named_parameters():
        assert p.grad is not None, name


def test_registry_build_from_config():
    net = MODELS.build(dict(type='SlimResNet', depths=(1, 1, 1, 1), width_mult=0.25,
                            attention=dict(type='MSCA', branches=(7, )), out_indices=(2, 3)))
    outs = net(torch.randn(1, 3, 32, 32))
    assert [o.shape[1] for o in outs] == [64, 128]
    assert all(len(b.attention.branches) == 1 for b in blocks(net))


# ---------------------------------------------------------------- configs

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
