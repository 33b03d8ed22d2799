"""SlimResNet: widths and parameters, outputs, blocks and stages, attention, drop path,
gradients; every method block follows its block interface; the initialisation
each block family applies inside it."""
import math

import pytest
import torch
import torch.nn as nn
from mmcv.cnn.bricks import DropPath
from mmpretrain.models.backbones import ResNet_CIFAR

import cifar_plugins  # noqa: F401
from cifar_plugins.models import ECA, SE, ChannelGroupSoftmax, SlimBasicBlock, SlimResNet
from cifar_plugins.registry import MODELS

torch.set_num_threads(1)

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


def test_drop_path_rates_increase_linearly_over_all_blocks():
    net = SlimResNet(depths=(2, 2, 2, 2), drop_path_rate=0.35)
    rates = [b.drop_path.drop_prob if isinstance(b.drop_path, DropPath) else 0.0
             for b in blocks(net)]
    assert rates == pytest.approx([0.35 * i / 7 for i in range(8)])
    assert isinstance(blocks(net)[0].drop_path, nn.Identity)
    assert not any(isinstance(m, DropPath) for m in SlimResNet().modules())


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


BN = dict(type='BN')
RELU = dict(type='ReLU')

# block type -> extra kwargs; every one follows the SlimResNet block interface
BLOCKS = {
    'ConvNeXtStageBlock': {},
    'GhostBasicBlock': dict(ratio=2),
    'GatedGhostBlock': dict(ratio=3, dw_size=5),
    'HorNetStageBlock': dict(order=3),
    'ResNeStBlock': dict(radix=2, groups=2),
    'MBConvBlock': {},
    'RelPosTransformerBlock': dict(head_dim=8, resolution=4),
}
STAGES = {
    'CSPSlimStage': dict(block=dict(type='GhostBasicBlock')),
    'GMLPStage': dict(input_resolution=8),
}


def build_block(block_type, in_channels, out_channels, stride=1, attention=None, **kwargs):
    return MODELS.build(dict(type=block_type, in_channels=in_channels, out_channels=out_channels,
                             stride=stride, attention=attention, drop_path_rate=0.,
                             norm_cfg=BN, act_cfg=RELU, **kwargs))


@pytest.mark.parametrize('block_type', sorted(BLOCKS))
@pytest.mark.parametrize('stride,out_channels', [(1, 16), (2, 32), (1, 32)])
def test_block_builds_from_registry_with_shapes(block_type, stride, out_channels):
    block = build_block(block_type, 16, out_channels, stride, attention=dict(type='ECA'),
                        **BLOCKS[block_type])
    out = block(torch.randn(2, 16, 8, 8))
    assert out.shape == (2, out_channels, 8 // stride, 8 // stride)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize('stage_type', sorted(STAGES))
def test_stage_builds_from_registry_with_shapes(stage_type):
    cls = MODELS.get(stage_type)
    assert cls.is_stage
    stage = MODELS.build(dict(type=stage_type, in_channels=16, out_channels=32, num_blocks=2,
                              stride=2, attention=dict(type='SE'), drop_path_rates=[0., 0.1],
                              norm_cfg=BN, act_cfg=RELU, **STAGES[stage_type]))
    assert len(stage.blocks) == 2
    assert stage(torch.randn(2, 16, 8, 8)).shape == (2, 32, 4, 4)


@pytest.mark.parametrize('cfg,in_shape,out_shape', [
    (dict(type='GhostModule', in_channels=8, out_channels=12, kernel_size=3, ratio=3, stride=2),
     (2, 8, 6, 6), (2, 12, 3, 3)),
    (dict(type='GatedGhostModule', in_channels=8, out_channels=12, ratio=2),
     (2, 8, 6, 6), (2, 12, 6, 6)),
    (dict(type='RelPosSelfAttention', in_channels=8, out_channels=16, num_heads=2, head_dim=4),
     (2, 8, 5, 3), (2, 16, 5, 3)),
    (dict(type='SpatialGatingUnit', channels=8, num_tokens=5), (2, 5, 8), (2, 5, 4)),
])
def test_modules_build_from_registry(cfg, in_shape, out_shape):
    assert MODELS.build(cfg)(torch.randn(in_shape)).shape == out_shape


@pytest.mark.parametrize('block_type', sorted(BLOCKS) + sorted(STAGES))
def test_attention_is_applied_inside_the_block(block_type):
    """An ECA inside the block runs at the width of the blocks (for CSP, the
    partial width: half of 32)."""
    calls = []
    if block_type in STAGES:
        block = MODELS.build(dict(type=block_type, in_channels=16, out_channels=32,
                                  num_blocks=1, stride=2, attention='eca', **STAGES[block_type]))
    else:
        block = build_block(block_type, 16, 32, 2, attention='eca', **BLOCKS[block_type])
    ecas = [m for m in block.modules() if type(m).__name__ == 'ECA']
    assert ecas
    for eca in ecas:
        eca.register_forward_hook(lambda m, inp, out: calls.append(inp[0].shape[1]))
    block(torch.randn(2, 16, 8, 8))
    width = 16 if block_type == 'CSPSlimStage' else 32
    assert calls and all(c == width for c in calls)


@pytest.mark.parametrize('block_type', sorted(BLOCKS))
def test_gradients_reach_the_first_layer(block_type):
    block = build_block(block_type, 16, 32, 2, attention=dict(type='ECA'), **BLOCKS[block_type])
    x = torch.randn(2, 16, 8, 8, requires_grad=True)
    block(x).square().mean().backward()
    assert x.grad.abs().sum() > 0
    first = next(p for p in block.parameters() if p.dim() == 4)  # first conv weight
    assert first.grad is not None and first.grad.abs().sum() > 0
    missing = [n for n, p in block.named_parameters() if p.grad is None]
    assert not missing, f'parameters without gradient: {missing}'


def init_backbone(block, **kwargs):
    torch.manual_seed(0)
    net = MODELS.build(dict(type='SlimResNet', block=block, **kwargs))
    net.init_weights()
    return net


def weights(net, types):
    return [(name, m.weight) for name, m in net.named_modules()
            if isinstance(m, types) and name.startswith('stages.')]


def assert_std(weight, expected, name):
    assert weight.std().item() == pytest.approx(expected, rel=0.2), name


@pytest.mark.parametrize('block_type', ['ConvNeXtStageBlock', 'HorNetStageBlock'])
def test_convnext_and_hornet_blocks_own_trunc_normal_init_and_layer_scale(block_type):
    block = dict(type=block_type)
    if block_type == 'HorNetStageBlock':
        block['order'] = 2
    net = init_backbone(block)
    measured = weights(net, (nn.Conv2d, nn.Linear))
    assert len(measured) > 10
    for name, weight in measured:
        if weight.numel() >= 1000:  # Kaiming fan-out would give 0.036-0.18 here
            assert_std(weight, 0.02, name)
    scales = [p for name, p in net.named_parameters()
              if name.endswith('gamma') or 'gamma1' in name or 'gamma2' in name]
    assert scales and all(torch.all(p == torch.tensor(1e-6)) for p in scales)
    # the ResNet-family stem keeps the backbone's Kaiming init
    stem = net.stem.conv.weight
    assert_std(stem, math.sqrt(2 / (9 * stem.shape[0])), 'stem')


def test_basic_and_mbconv_blocks_init_per_family():
    basic = init_backbone(dict(type='SlimBasicBlock'))
    for name, weight in weights(basic, nn.Conv2d):
        fan_out = weight.shape[0] * weight[0, 0].numel()
        assert_std(weight, math.sqrt(2 / fan_out), name)  # Kaiming fan-out (ResNet)

    mb = init_backbone(dict(type='MBConvBlock', act_cfg=dict(type='GELU')))
    dw = [(n, w) for n, w in weights(mb, nn.Conv2d) if w.shape[1] == 1 and w.shape[-1] == 3]
    assert dw
    for name, weight in dw:  # EfficientNet fan-out / groups: sqrt(2 / 9), not Kaiming's
        assert_std(weight, math.sqrt(2 / 9), name)
    for name, weight in weights(mb, nn.Conv2d):
        if weight.shape[-1] == 1 and weight.numel() >= 1000:
            assert_std(weight, math.sqrt(2 / weight.shape[0]), name)

    transformer = init_backbone([dict(type='SlimBasicBlock')] * 2 + [
        dict(type='RelPosTransformerBlock', resolution=8),
        dict(type='RelPosTransformerBlock', resolution=4)])
    linears = [(n, w) for n, w in weights(transformer, nn.Linear)]
    assert linears
    for name, weight in linears:
        assert_std(weight, 0.02, name)
