"""cifar_plugins.datasets.batched: in-memory batches of the fast recipe."""
import pytest
import torch
from mmengine.dataset import DefaultSampler
from mmengine.runner import Runner

import cifar_plugins  # noqa: F401
from cifar_plugins.datasets import InMemoryBatchDataset, VerifiedCIFAR10


def cifar(root, split='train', **kwargs):
    return dict(type='VerifiedCIFAR10', data_root=root, split=split, download=False,
                pipeline=[], **kwargs)


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
