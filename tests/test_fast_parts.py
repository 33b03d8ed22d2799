"""The fast recipe's parts: in-memory batches, whitening stem, Dirac init, fixed BN
scale, alternating flip, batch translate, Mixup/CutMix label mixing."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.dataset import DefaultSampler
from mmengine.logging import MessageHub
from mmengine.runner import Runner

import cifar_plugins  # noqa: F401
from cifar_plugins.datasets import InMemoryBatchDataset, VerifiedCIFAR10
from cifar_plugins.engine.hooks import WhiteningInitHook
from cifar_plugins.models import CIFARDataPreprocessor, FastCIFARNet
from cifar_plugins.models.utils.batch_augment import alternating_flip, random_crop_flip
from cifar_plugins.models.utils.whitening import WhiteningConv2d, image_patches
from cifar_plugins.registry import MODELS
from helpers import REPO

MEAN, STD = [125.307, 122.961, 113.8575], [51.5865, 50.847, 51.255]


def cifar(root, split='train', **kwargs):
    return dict(type='VerifiedCIFAR10', data_root=root, split=split, download=False,
                pipeline=[], **kwargs)


# ------------------------------------------------------------ in-memory batches

def test_batches_hold_the_same_pixels_labels_and_channel_order(cifar10_root):
    plain = VerifiedCIFAR10(data_root=cifar10_root, split='train', download=False,
                            pipeline=[dict(type='PackInputs')])
    batched = InMemoryBatchDataset(cifar(cifar10_root))
    idx = [7, 0, 123, 199]
    batch = batched.__getitems__(idx)
    assert batch['inputs'].dtype == torch.uint8 and batch['inputs'].shape == (4, 3, 32, 32)
    for k, i in enumerate(idx):
        sample = plain[i]
        assert torch.equal(batch['inputs'][k], sample['inputs'])  # CHW, RGB as PackInputs
        ours, ref = batch['data_samples'][k].gt_label, sample['data_samples'].gt_label
        assert torch.equal(ours, ref) and ours.dtype == ref.dtype and ours.shape == ref.shape
    assert batch['sample_idx'].tolist() == idx
    assert batched.metainfo['classes'] == plain.metainfo['classes']


def test_overrides_reach_the_wrapped_dataset(cifar10_root):
    ds = InMemoryBatchDataset(dict(type='VerifiedCIFAR10', split='test', pipeline=[],
                                   download=False), data_root=cifar10_root, indices=30)
    assert len(ds) == 30
    with pytest.raises(TypeError, match='config dict'):
        InMemoryBatchDataset(ds.dataset, indices=3)


def loader_indices(root, seed, epoch, rank=0, world_size=1, monkeypatch=None):
    if monkeypatch is not None:
        import mmengine.dataset.sampler as sampler_mod
        monkeypatch.setattr(sampler_mod, 'get_dist_info', lambda: (rank, world_size))
    loader = Runner.build_dataloader(dict(
        batch_size=32, num_workers=0, collate_fn=dict(type='batch_passthrough'),
        sampler=dict(type='DefaultSampler', shuffle=True, seed=seed),
        dataset=dict(type=InMemoryBatchDataset, dataset=cifar(root))), seed=seed)
    loader.sampler.set_epoch(epoch)
    batches = list(loader)
    assert all(b['inputs'].dtype == torch.uint8 for b in batches)
    return torch.cat([b['sample_idx'] for b in batches]).tolist(), loader


def test_loader_order_is_default_sampler_order(cifar10_root):
    for epoch in (0, 1):
        got, loader = loader_indices(cifar10_root, seed=3, epoch=epoch)
        assert sorted(got) == list(range(len(loader.dataset)))  # each index once
        sampler = DefaultSampler(loader.dataset, shuffle=True, seed=3)
        sampler.set_epoch(epoch)
        assert got == list(sampler)
    assert loader_indices(cifar10_root, 3, 0)[0] != loader_indices(cifar10_root, 3, 1)[0]


def test_loader_shards_are_disjoint_on_two_ranks(cifar10_root, monkeypatch):
    shard0, loader = loader_indices(cifar10_root, 5, 0, rank=0, world_size=2,
                                    monkeypatch=monkeypatch)
    shard1, _ = loader_indices(cifar10_root, 5, 0, rank=1, world_size=2,
                               monkeypatch=monkeypatch)
    assert not set(shard0) & set(shard1)
    assert sorted(shard0 + shard1) == list(range(len(loader.dataset)))


# ------------------------------------------------------------- whitening stem

def natural_images(n=64, seed=0):
    """Correlated, coloured images so the patch covariance is far from identity."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, 36, 36, generator=g)
    x = F.avg_pool2d(x, 5, stride=1)  # spatial correlation
    return x * torch.tensor([1.0, 2.0, 0.5]).view(1, 3, 1, 1) + 0.3 * x.mean(1, keepdim=True)


def test_whitening_output_has_identity_second_moment():
    images = natural_images()
    layer = WhiteningConv2d(3, kernel_size=2, eps=1e-8)
    patches = image_patches(images, 2)
    raw = patches.T @ patches / len(patches)
    assert (raw - torch.eye(12)).abs().max() > 0.5  # not white to begin with
    eigenvalues = layer.fit(images)
    out = F.conv2d(images, layer.weight)  # bias excluded
    first = out[:, :12].permute(0, 2, 3, 1).reshape(-1, 12)
    moment = first.T @ first / len(first)
    assert torch.allclose(moment, torch.eye(12), atol=1e-3)
    assert torch.allclose(out[:, 12:], -out[:, :12])
    # with the default eps the gains are l / (l + eps)
    layer = WhiteningConv2d(3, kernel_size=2)
    eigenvalues = layer.fit(images).float()
    first = F.conv2d(images, layer.weight)[:, :12].permute(0, 2, 3, 1).reshape(-1, 12)
    moment = first.T @ first / len(first)
    expected = torch.diag(eigenvalues / (eigenvalues + layer.eps))
    assert torch.allclose(moment, expected, atol=1e-3)
    assert bool(layer.fitted) and not layer.weight.requires_grad and layer.bias.requires_grad


class FakeRunner:
    def __init__(self, model, dataset, epoch=0):
        import logging
        self.model, self.epoch = model, epoch
        self.train_dataloader = type('L', (), {'dataset': dataset})()
        self.logger = logging.getLogger('test')


def fast_model(**backbone):
    return MODELS.build(dict(
        type='ImageClassifier',
        data_preprocessor=dict(type='CIFARDataPreprocessor', mean=MEAN, std=STD),
        backbone=dict(type='FastCIFARNet', widths=(8, 16, 16), stem='whitening', **backbone),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=10, in_channels=16)))


def test_whitening_hook_fits_once_from_normalised_training_images(cifar10_root):
    model = fast_model()
    dataset = InMemoryBatchDataset(cifar(cifar10_root))
    hook = WhiteningInitHook(num_images=50, bias_epochs=2)
    hook.before_train(FakeRunner(model, dataset))
    layer = model.backbone.stem[0]
    normalised = (dataset.images[:50].float() - torch.tensor(MEAN).view(1, 3, 1, 1)) \
        / torch.tensor(STD).view(1, 3, 1, 1)
    reference = WhiteningConv2d(3, 2)
    reference.fit(normalised)
    assert torch.allclose(layer.weight, reference.weight, atol=1e-5)
    # fitted state travels in the state dict; a resumed run does not refit
    state = model.state_dict()
    assert bool(state['backbone.stem.0.fitted'])
    fresh = fast_model()
    fresh.load_state_dict(state)
    with torch.no_grad():
        fresh.backbone.stem[0].weight.add_(1.0)
    hook.before_train(FakeRunner(fresh, dataset))
    assert torch.allclose(fresh.backbone.stem[0].weight, layer.weight + 1.0)
    for epoch, trains in ((0, True), (1, True), (2, False), (5, False)):
        hook.before_train_epoch(FakeRunner(model, dataset, epoch))
        assert layer.bias.requires_grad is trains


# ------------------------------------------------ Dirac init, fixed BN scale

def test_stride_two_whitening_stem_is_space_to_depth():
    images = natural_images()
    layer = WhiteningConv2d(3, kernel_size=2, eps=1e-8, stride=2)
    layer.fit(images)
    out = (layer(images) - layer.bias.view(1, -1, 1, 1))[:, :12]
    assert out.shape[-2:] == (images.shape[-2] // 2, images.shape[-1] // 2)
    # lossless: the 12 whitened channels of each 2x2 cell give back its 12 pixels
    cells = F.unfold(images, 2, stride=2)  # N, 12, L
    flat = layer.weight[:12].reshape(12, 12)
    restored = torch.linalg.solve(flat, out.flatten(2))
    assert torch.allclose(restored, cells, atol=1e-3)
    net = FastCIFARNet(widths=(8, 16, 16), stem='whitening', stem_stride=2, final_pool='max')
    assert net(torch.randn(2, 3, 32, 32))[0].shape == (2, 16)
    maps = FastCIFARNet(widths=(8, 16, 16), stem='whitening', stem_stride=2)
    assert maps(torch.randn(2, 3, 32, 32))[0].shape == (2, 16, 2, 2)  # 16 -> 8 -> 4 -> 2
    with pytest.raises(ValueError, match='stem_stride'):
        FastCIFARNet(stem_stride=3)


def test_dirac_init_passes_the_input_through():
    net = FastCIFARNet(widths=(8, 16, 16), stem='whitening', dirac_init=True)
    net.init_weights()
    conv = net.groups[1].conv1  # 8 -> 16
    x = torch.randn(2, 8, 6, 6)
    assert torch.equal(conv(x)[:, :8], x)
    conv2 = net.groups[1].conv2  # 16 -> 16: the whole map
    y = torch.randn(2, 16, 6, 6)
    assert torch.allclose(conv2(y), y)


def test_bn_scale_fixed_at_one_after_training_steps():
    net = FastCIFARNet(widths=(8, 16, 16), bn_affine_weight=False, final_pool='max')
    norms = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert norms and all(not m.weight.requires_grad for m in norms)
    opt = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=0.5)
    for _ in range(2):
        opt.zero_grad()
        net(torch.randn(4, 3, 32, 32))[0].square().mean().backward()
        opt.step()
    assert all(torch.equal(m.weight, torch.ones_like(m.weight)) for m in norms)
    assert any(not torch.equal(m.bias, torch.zeros_like(m.bias)) for m in norms)
    assert net(torch.randn(2, 3, 32, 32))[0].shape == (2, 16)


def test_old_fast_cifar_net_checkpoints_still_load():
    new = FastCIFARNet()
    old_keys = {k.replace('conv1', '0').replace('norm1', '2').replace('conv2', '4')
                 .replace('norm2', '5'): v for k, v in new.state_dict().items()}
    assert 'groups.0.0.weight' in old_keys
    other = FastCIFARNet()
    other.load_state_dict(old_keys)
    assert torch.equal(other.groups[0].conv1.weight, new.groups[0].conv1.weight)


# ----------------------------------------------- training-mode augmentation

def find_crop(padded, out, padding):
    """(dy, dx, flipped) such that out is that crop of padded, else None."""
    h, w = out.shape[-2:]
    for dy in range(2 * padding + 1):
        for dx in range(2 * padding + 1):
            crop = padded[..., dy:dy + h, dx:dx + w]
            if torch.equal(crop, out):
                return dy, dx, False
            if torch.equal(crop.flip(-1), out):
                return dy, dx, True
    return None


@pytest.mark.parametrize('pad_mode', ['constant', 'reflect'])
def test_crop_offsets_stay_within_padding_and_flip_is_on_width(pad_mode):
    torch.manual_seed(0)
    x = torch.randint(0, 256, (64, 3, 12, 10), dtype=torch.uint8)
    out = random_crop_flip(x, padding=2, flip_prob=0.5, pad_mode=pad_mode)
    assert out.dtype == torch.uint8 and out.shape == x.shape
    padded = F.pad(x.float(), (2, 2, 2, 2), mode=pad_mode).to(torch.uint8)
    found = [find_crop(padded[i], out[i], 2) for i in range(len(x))]
    assert all(f is not None for f in found)  # every output is a crop within the padding
    offsets = {(dy, dx) for dy, dx, _ in found}
    assert len(offsets) > 10  # offsets vary over the 5 x 5 range
    flips = [f for _, _, f in found]
    assert 15 < sum(flips) < 49
    # a flip mirrors columns (width), never rows
    flipped = random_crop_flip(x, padding=0, flip=torch.ones(64, dtype=torch.bool))
    assert torch.equal(flipped, x.flip(3))


def test_alternating_flip_flips_exactly_the_odd_epochs():
    idx = torch.arange(1000)
    first = alternating_flip(idx, 0)
    assert 400 < int(first.sum()) < 600
    for epoch in range(1, 6):
        assert torch.equal(alternating_flip(idx, epoch), first ^ bool(epoch % 2))


def test_preprocessor_alternating_flip_follows_the_epoch():
    pre = CIFARDataPreprocessor(mean=[0, 0, 0], std=[1, 1, 1], crop_padding=0,
                                flip_mode='alternate')
    x = torch.arange(2 * 3 * 4 * 5, dtype=torch.uint8).reshape(2, 3, 4, 5)
    hub = MessageHub.get_current_instance()
    outs = []
    for epoch in (0, 1, 2):
        hub.update_info('epoch', epoch)
        outs.append(pre(dict(inputs=x, sample_idx=torch.tensor([10, 11])), training=True)['inputs'])
    want0 = alternating_flip(torch.tensor([10, 11]), 0)
    for i in range(2):
        assert torch.equal(outs[0][i], x[i].float().flip(-1) if want0[i] else x[i].float())
        assert torch.equal(outs[1][i], outs[0][i].flip(-1))
        assert torch.equal(outs[2][i], outs[0][i])
    with pytest.raises(ValueError, match='dataset indices'):
        pre(dict(inputs=x), training=True)


def test_progressive_resize_follows_the_epoch_and_spares_evaluation():
    pre = CIFARDataPreprocessor(mean=[0, 0, 0], std=[1, 1, 1], crop_padding=0, flip_prob=0,
                                train_size_schedule=((0, 16), (2, 24), (3, 32)))
    x = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    hub = MessageHub.get_current_instance()
    sides = []
    for epoch in range(5):
        hub.update_info('epoch', epoch)
        sides.append(pre(dict(inputs=x), training=True)['inputs'].shape[-2:])
        assert pre(dict(inputs=x), training=False)['inputs'].shape[-2:] == (32, 32)
    assert sides == [(16, 16), (16, 16), (24, 24), (32, 32), (32, 32)]
    # antialiased: a pixel checkerboard (far above the new Nyquist limit) becomes flat grey
    # at 24 px, where plain bilinear resampling aliases it into a strong pattern
    hub.update_info('epoch', 2)
    board = ((torch.arange(32)[:, None] + torch.arange(32)) % 2 * 255).to(torch.uint8)
    small = pre(dict(inputs=board.expand(2, 3, 32, 32)), training=True)['inputs']
    aliased = F.interpolate(board.expand(2, 3, 32, 32).float(), size=(24, 24), mode='bilinear',
                            align_corners=False)
    inner = (Ellipsis, slice(2, -2), slice(2, -2))
    assert small[inner].std() < 10 and aliased[inner].std() > 30  # measured: 6.6 vs 39.7
    assert abs(small[inner].mean() - 127.5) < 3
    for bad in (((1, 24), (0, 32)), ((0, 0),), ((0, 24, 1),), ()):
        with pytest.raises(ValueError, match='train_size_schedule'):
            CIFARDataPreprocessor(train_size_schedule=bad)


def test_progressive_resize_warns_once_if_it_never_returns_to_full_size(monkeypatch):
    from cifar_plugins.models.utils import data_preprocessor
    warnings = []
    monkeypatch.setattr(data_preprocessor, 'print_log', lambda msg, **kw: warnings.append(msg))
    pre = CIFARDataPreprocessor(mean=[0, 0, 0], std=[1, 1, 1], crop_padding=0, flip_prob=0,
                                train_size_schedule=((0, 16), (2, 24)))
    x = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    hub = MessageHub.get_current_instance()
    for epoch in (0, 1):  # an early stage at 16 px is intended, not a mistake
        hub.update_info('epoch', epoch)
        pre(dict(inputs=x), training=True)
    assert warnings == []
    for epoch in (2, 3):
        hub.update_info('epoch', epoch)
        pre(dict(inputs=x), training=True)
    assert len(warnings) == 1
    assert 'ends at 24 px' in warnings[0] and '(epoch, 32)' in warnings[0]


@pytest.mark.parametrize('augment', ['Mixup', 'CutMix'])
def test_mixup_cutmix_mix_labels_as_they_mix_pixels(augment):
    n = 10
    torch.manual_seed(1)
    pre = CIFARDataPreprocessor(
        mean=[0, 0, 0], std=[1, 1, 1], crop_padding=0, flip_prob=0, num_classes=n,
        batch_augments=dict(augments=[dict(type=augment, alpha=1.0)]))
    from mmpretrain.structures import DataSample
    # image i is constant i: a mixed pixel tells which images it came from
    x = torch.arange(n, dtype=torch.uint8).view(n, 1, 1, 1).expand(n, 3, 8, 8).contiguous()
    samples = [DataSample().set_gt_label(i) for i in range(n)]
    out = pre(dict(inputs=x, data_samples=samples), training=True)
    scores = torch.stack([s.gt_score for s in out['data_samples']])
    assert torch.allclose(scores.sum(1), torch.ones(n))
    for i in range(n):
        pixels = out['inputs'][i].flatten()
        if augment == 'Mixup':  # lam * i + (1 - lam) * j everywhere
            assert torch.allclose(pixels, pixels[0].expand_as(pixels))
            j = int(scores[i].topk(2).indices[scores[i].topk(2).indices != i][0]) \
                if scores[i].max() < 1 else i
            lam = scores[i, i]
            assert torch.allclose(pixels[0], lam * i + (1 - lam) * j, atol=1e-4)
        else:  # CutMix: the label weight of each source = its share of the pixels
            share = torch.bincount(pixels.long(), minlength=n).float() / pixels.numel()
            assert torch.allclose(share, scores[i], atol=1e-4)


def test_fast_metafile_lists_every_fast_config_with_its_size():
    import glob
    import os.path as osp

    import yaml
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from cifar_plugins.analysis.complexity import count_macs
    folder = osp.join(REPO, 'configs', 'fast')
    with open(osp.join(folder, 'metafile.yml')) as f:
        meta = yaml.safe_load(f)
    models = meta['Models']
    configs = sorted(osp.basename(m['Config']) for m in models)
    assert configs == sorted(osp.basename(p) for p in glob.glob(osp.join(folder, '*.py')))
    assert len({m['Name'] for m in models}) == len(models)
    collections = {c['Name'] for c in meta['Collections']}
    for entry in models:
        assert entry['In Collection'] in collections
        cfg = Config.fromfile(osp.join(folder, osp.basename(entry['Config'])))
        with DefaultScope.overwrite_default_scope('mmpretrain'):
            model = MODELS.build(cfg.model)
        assert sum(p.numel() for p in model.parameters()) == entry['Metadata']['Parameters']
        assert cfg.train_cfg.max_epochs == entry['Metadata']['Epochs']
        assert cfg.train_dataloader.batch_size == entry['Metadata']['Batch Size']
        macs = count_macs(model.backbone.eval(), (torch.zeros(1, 3, 32, 32),))
        assert abs(macs - entry['Metadata']['FLOPs']) / entry['Metadata']['FLOPs'] < 0.01
