"""Synchronised BatchNorm on CPU processes and rank-averaged loss logging.

Unit part: two gloo processes (``torch.multiprocessing``, ``file://`` init in
``tmp_path``), each normalising its share of a batch with
:class:`CPUSyncBatchNorm`, must give what one ``BatchNorm`` gives on the whole
batch: outputs, input gradients, weight/bias gradients (summed over the
processes, as DDP does before dividing by the world size), running statistics,
``num_batches_tracked`` and eval outputs; one ``all_reduce`` per forward and per
backward. :class:`RankMeanLossHook` averages the scalar outputs in the same
processes.

End-to-end part: ``tools/dist_train.sh CONFIG 2`` at batch B/2 per process with
``sync_bn='torch'`` against ``tools/train.py`` (one process) at batch B. Why the
two runs see the same images in every iteration: both use ``DefaultSampler``
with ``shuffle=False``. With two processes the sampler gives rank r the indices
``r, r+2, r+4, ...`` (``indices[rank::world]``), so iteration i of rank 0 holds
images ``B*i + 0, 2, ..., B-2`` and rank 1 ``B*i + 1, 3, ..., B-1`` -- together
exactly the images ``B*i .. B*i+B-1`` of the single process's iteration i (the
dataset size, 200, is a multiple of B, so the sampler pads nothing). Synced BN,
the mean loss and the DDP-averaged gradients do not depend on the order of the
images within a batch. The batch crop/flip of the data preprocessor is switched
off (it draws different random numbers in 1 and 2 processes), the model has no
dropout, the optimizer runs in float32, and both runs use seed 0 (DDP also
broadcasts rank 0's initial weights). Then the losses logged per iteration
(averaged over the ranks by RankMeanLossHook) and every entry of the final
state_dict, BN buffers included, agree to float tolerance; without ``sync_bn``
the same comparison must find different BN buffers.
"""
import glob
import json
import os.path as osp
import time

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn

import cifar_plugins  # noqa: F401  (applies the patches)
from cifar_plugins.compat.sync_batchnorm import CPUSyncBatchNorm
from cifar_plugins.engine.hooks import RankMeanLossHook
from helpers import REPO, python_tool, run_tool

WORLD = 2
# name, full input shape, CPUSyncBatchNorm kwargs, images per rank, channels_last
CASES = [
    ('bn1d', (12, 4), {}, (6, 6), False),
    ('bn1d_seq', (6, 3, 5), {'momentum': 0.3}, (3, 3), False),
    ('bn2d', (8, 3, 5, 5), {}, (4, 4), False),
    ('bn2d_uneven', (8, 3, 4, 4), {'eps': 1e-3}, (3, 5), False),
    ('bn2d_channels_last', (8, 5, 4, 4), {}, (4, 4), True),
    ('bn2d_no_affine', (6, 3, 4, 4), {'affine': False}, (3, 3), False),
    ('bn3d_cumulative', (4, 2, 3, 3, 3), {'momentum': None}, (2, 2), False),
]
STEPS = 3


def _case_data(index, shape, step):
    """Inputs (offset and scaled, to exercise the variance), output grads and
    eval inputs of one case and step, identical in every process."""
    g = torch.Generator().manual_seed(1000 * index + step)
    x = torch.randn(shape, generator=g) * 3 + 5
    gy = torch.randn(shape, generator=g)
    x_eval = torch.randn(shape, generator=g) * 3 + 5
    return x, gy, x_eval


def _params(index, channels):
    g = torch.Generator().manual_seed(77 + index)
    return torch.rand(channels, generator=g) + 0.5, torch.randn(channels, generator=g)


def _rank_slice(split, rank):
    start = sum(split[:rank])
    return slice(start, start + split[rank])


def _worker(rank, init_method, out_dir):
    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=init_method, rank=rank, world_size=WORLD)
    calls = []
    original = dist.all_reduce

    def counting_all_reduce(tensor, *args, **kwargs):
        calls.append(tensor.numel())
        return original(tensor, *args, **kwargs)

    dist.all_reduce = counting_all_reduce
    results = {}
    try:
        for index, (name, shape, kwargs, split, channels_last) in enumerate(CASES):
            channels = shape[1]
            bn = CPUSyncBatchNorm(channels, **kwargs)
            if bn.affine:
                weight, bias = _params(index, channels)
                with torch.no_grad():
                    bn.weight.copy_(weight)
                    bn.bias.copy_(bias)
            steps = []
            for step in range(STEPS):
                x, gy, x_eval = _case_data(index, shape, step)
                part = _rank_slice(split, rank)
                x = x[part].clone()
                if channels_last:
                    x = x.contiguous(memory_format=torch.channels_last)
                x.requires_grad_()
                bn.train()
                bn.zero_grad()
                del calls[:]
                y = bn(x)
                forward_calls = list(calls)
                (y * gy[part]).sum().backward()
                backward_calls = calls[len(forward_calls):]
                bn.eval()
                with torch.no_grad():
                    y_eval = bn(x_eval[part])
                steps.append(dict(
                    y=y.detach(), x_grad=x.grad,
                    weight_grad=None if bn.weight is None else bn.weight.grad.clone(),
                    bias_grad=None if bn.bias is None else bn.bias.grad.clone(),
                    running_mean=bn.running_mean.clone(), running_var=bn.running_var.clone(),
                    num_batches_tracked=int(bn.num_batches_tracked),
                    y_eval=y_eval, forward_calls=forward_calls,
                    backward_calls=backward_calls))
            results[name] = steps

        outputs = {'loss': torch.tensor(1.0 + rank), 'loss_cls': torch.tensor([2.0 * rank]),
                   'count': rank, 'vector': torch.tensor([1.0, 2.0]) + rank,
                   'flag': True, 'index': torch.tensor(rank)}
        del calls[:]
        RankMeanLossHook().after_train_iter(None, 0, outputs=outputs)
        results['hook'] = dict(outputs=outputs, calls=list(calls))
    finally:
        dist.all_reduce = original
    torch.save(results, osp.join(out_dir, f'rank{rank}.pt'))
    dist.barrier()
    dist.destroy_process_group()


def _run_two_processes(tmp_path, timeout=120):
    ctx = mp.start_processes(_worker, args=(f'file://{tmp_path}/init', str(tmp_path)),
                             nprocs=WORLD, join=False, start_method='spawn')
    deadline = time.time() + timeout
    while not ctx.join(timeout=1):
        if time.time() > deadline:
            for proc in ctx.processes:
                proc.kill()
            pytest.fail('the two gloo processes did not finish in time')
    return [torch.load(tmp_path / f'rank{r}.pt', weights_only=False) for r in range(WORLD)]


def _reference_bn(shape, kwargs):
    cls = {2: nn.BatchNorm1d, 3: nn.BatchNorm1d, 4: nn.BatchNorm2d, 5: nn.BatchNorm3d}
    return cls[len(shape)](shape[1], **kwargs)


@pytest.fixture(scope='module')
def two_process_results(tmp_path_factory):
    return _run_two_processes(tmp_path_factory.mktemp('sync_bn_unit'))


def _close(a, b, tol=1e-5):
    torch.testing.assert_close(a, b, rtol=tol, atol=tol)


@pytest.mark.parametrize('index', range(len(CASES)), ids=[c[0] for c in CASES])
def test_two_cpu_processes_equal_one_batchnorm(two_process_results, index):
    name, shape, kwargs, split, _ = CASES[index]
    ref = _reference_bn(shape, kwargs)
    if ref.affine:
        weight, bias = _params(index, shape[1])
        with torch.no_grad():
            ref.weight.copy_(weight)
            ref.bias.copy_(bias)
    for step in range(STEPS):
        x, gy, x_eval = _case_data(index, shape, step)
        x.requires_grad_()
        ref.train()
        ref.zero_grad()
        y = ref(x)
        (y * gy).sum().backward()
        ref.eval()
        with torch.no_grad():
            y_eval = ref(x_eval)
        ranks = [r[name][step] for r in two_process_results]
        _close(torch.cat([r['y'] for r in ranks]), y.detach())
        _close(torch.cat([r['x_grad'] for r in ranks]), x.grad)
        if ref.affine:
            _close(sum(r['weight_grad'] for r in ranks), ref.weight.grad)
            _close(sum(r['bias_grad'] for r in ranks), ref.bias.grad)
        else:
            assert all(r['weight_grad'] is None and r['bias_grad'] is None for r in ranks)
        for r in ranks:  # buffers: identical in every process, equal to BatchNorm's
            _close(r['running_mean'], ref.running_mean)
            _close(r['running_var'], ref.running_var)
            assert r['num_batches_tracked'] == int(ref.num_batches_tracked) == step + 1
            # one collective of [sum, sum of squares, count] forward, one of
            # [sum(dy), sum(dy * xhat)] backward
            assert r['forward_calls'] == [2 * shape[1] + 1]
            assert r['backward_calls'] == [2 * shape[1]]
        _close(torch.cat([r['y_eval'] for r in ranks]), y_eval)


def test_unsynchronised_halves_differ_from_one_batchnorm(two_process_results):
    """The reference comparison can fail: plain BN on each half is not BN on the batch."""
    index = 2
    name, shape, kwargs, split, _ = CASES[index]
    x, gy, _ = _case_data(index, shape, 0)
    weight, bias = _params(index, shape[1])
    halves = []
    for rank in range(WORLD):
        bn = nn.BatchNorm2d(shape[1])
        with torch.no_grad():
            bn.weight.copy_(weight)
            bn.bias.copy_(bias)
        halves.append(bn(x[_rank_slice(split, rank)]).detach())
    synced = torch.cat([r[name][0]['y'] for r in two_process_results])
    assert (torch.cat(halves) - synced).abs().max() > 1e-3


def test_rank_mean_loss_hook_in_two_processes(two_process_results):
    for result in two_process_results:
        out = result['hook']['outputs']
        assert result['hook']['calls'] == [3]  # one collective of loss, loss_cls, count
        assert out['loss'].dtype == torch.float32 and out['loss'].shape == ()
        assert out['loss'].item() == pytest.approx(1.5)
        assert out['loss_cls'].shape == (1,) and out['loss_cls'].item() == pytest.approx(1.0)
        assert isinstance(out['count'], float) and out['count'] == pytest.approx(0.5)
    # non-scalars, bools and integer tensors stay each process's own
    for rank, result in enumerate(two_process_results):
        out = result['hook']['outputs']
        assert torch.equal(out['vector'], torch.tensor([1.0, 2.0]) + rank)
        assert out['flag'] is True
        assert torch.equal(out['index'], torch.tensor(rank))


def test_single_process_is_plain_batchnorm_with_the_same_state_dict():
    torch.manual_seed(0)
    x = torch.randn(6, 3, 4, 4) * 2 + 1
    ref = nn.BatchNorm2d(3, momentum=0.2)
    bn = CPUSyncBatchNorm(3, momentum=0.2)
    assert list(bn.state_dict()) == list(ref.state_dict())
    bn.load_state_dict(ref.state_dict())
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    ref(xa).square().sum().backward()
    bn(xb).square().sum().backward()
    assert torch.equal(xa.grad, xb.grad) and torch.equal(ref.weight.grad, bn.weight.grad)
    for key, value in ref.state_dict().items():
        assert torch.equal(bn.state_dict()[key], value), key
    ref.load_state_dict(bn.state_dict())  # and back
    with pytest.raises(ValueError, match='at least 2D'):
        bn(torch.randn(3))


def test_sync_bn_torch_converts_cpu_models_and_leaves_other_devices_to_torch():
    import mmengine.model
    import mmengine.runner.runner as runner_module
    from mmengine.model import convert_sync_batchnorm

    assert runner_module.convert_sync_batchnorm is mmengine.model.convert_sync_batchnorm
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4, momentum=0.3, eps=1e-4),
                          nn.Sequential(nn.BatchNorm1d(4, affine=False)))
    model[1].weight.requires_grad_(False)
    params = dict(model.named_parameters())
    keys = list(model.state_dict())
    converted = convert_sync_batchnorm(model, 'torch')
    assert type(converted[1]) is CPUSyncBatchNorm and type(converted[2][0]) is CPUSyncBatchNorm
    assert converted[1].momentum == 0.3 and converted[1].eps == 1e-4
    assert not converted[2][0].affine
    assert list(converted.state_dict()) == keys
    for name, param in converted.named_parameters():
        assert param is params[name]  # shared, so a built optimizer stays valid
    assert not converted[1].weight.requires_grad

    meta = nn.Sequential(nn.BatchNorm2d(4)).to('meta')  # stands in for a CUDA model
    assert type(convert_sync_batchnorm(meta, 'torch')[0]) is nn.SyncBatchNorm
    with pytest.raises(ValueError):
        convert_sync_batchnorm(model, 'nonsense')


BATCH = 20  # 200 synthetic training images -> 10 iterations in both runs

TINY_CONFIG = f"""
_base_ = ['{REPO}/configs/_base_/datasets/cifar10_bs128.py',
          '{REPO}/configs/_base_/default_runtime.py']
model = dict(
    type='ImageClassifier',
    backbone=dict(type='FastCIFARNet', widths=(8, 16, 16), stem_channels=8, bn_momentum=0.3),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=16,
              loss=dict(type='CrossEntropyLoss')))
data_preprocessor = dict(crop_padding=0, flip_prob=0.0)  # no augmentation randomness
train_dataloader = dict(batch_size={BATCH}, num_workers=0, persistent_workers=False,
                        sampler=dict(type='DefaultSampler', shuffle=False))
val_dataloader = None
val_cfg = None
val_evaluator = None
test_dataloader = None
test_cfg = None
test_evaluator = None
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4))
param_scheduler = []
train_cfg = dict(by_epoch=True, max_epochs=1)
log_processor = dict(window_size=1)
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(interval=1, max_keep_ckpts=1, save_best=None))
randomness = dict(seed=0, deterministic=True)
"""


def _data_options(data_root, batch_size):
    return ['--cfg-options', f'train_dataloader.dataset.data_root={data_root}',
            'train_dataloader.dataset.download=False',
            f'train_dataloader.batch_size={batch_size}']


def _losses(work_dir):
    (scalars,) = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    with open(scalars) as f:
        rows = [json.loads(line) for line in f]
    return {r['step']: r['loss'] for r in rows if 'loss' in r}


def _weights(work_dir):
    ckpt = torch.load(osp.join(work_dir, 'epoch_1.pth'), map_location='cpu',
                      weights_only=False)
    return ckpt['state_dict']


def _max_rel_diff(a, b):
    a, b = a.double(), b.double()
    return ((a - b).abs().max() / b.abs().max().clamp(min=1e-12)).item()


def _train_two(config, work_dir, data_root, port, extra=()):
    out = run_tool(['bash', 'tools/dist_train.sh', config, '2', '--work-dir', work_dir,
                    *_data_options(data_root, BATCH // 2), *extra], env={'PORT': str(port)})
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    return out


@pytest.fixture(scope='module')
def e2e_runs(tmp_path_factory, cifar10_root):
    tmp = tmp_path_factory.mktemp('sync_bn_e2e')
    config = str(tmp / 'tiny_sync_bn.py')
    with open(config, 'w') as f:
        f.write(TINY_CONFIG)
    one = str(tmp / 'one')
    out = python_tool('tools/train.py', config, '--work-dir', one,
                      *_data_options(cifar10_root, BATCH))
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    synced = str(tmp / 'two_sync')
    log = _train_two(config, synced, cifar10_root, 29641, ['sync_bn=torch'])
    assert 'using the "gloo" backend' in log.stdout + log.stderr
    plain = str(tmp / 'two_plain')
    _train_two(config, plain, cifar10_root, 29642)
    return dict(one=one, synced=synced, plain=plain)


def _compare(run, reference):
    losses, ref_losses = _losses(run), _losses(reference)
    assert sorted(losses) == sorted(ref_losses) == list(range(1, 11))
    loss_diff = max(abs(losses[k] - ref_losses[k]) / abs(ref_losses[k]) for k in ref_losses)
    weights, ref_weights = _weights(run), _weights(reference)
    assert list(weights) == list(ref_weights)  # CPUSyncBatchNorm keeps BatchNorm's keys
    diffs = {k: _max_rel_diff(weights[k], ref_weights[k]) for k in ref_weights
             if ref_weights[k].is_floating_point()}
    tracked = {k: int(weights[k]) for k in ref_weights if k.endswith('num_batches_tracked')}
    return loss_diff, diffs, tracked


def test_two_processes_with_sync_bn_equal_one_process(e2e_runs):
    loss_diff, diffs, tracked = _compare(e2e_runs['synced'], e2e_runs['one'])
    print(f'sync_bn=torch, 2 x {BATCH // 2} vs 1 x {BATCH}: max rel loss diff '
          f'{loss_diff:.2e}, max rel weight diff {max(diffs.values()):.2e}')
    assert loss_diff < 1e-4
    bn_buffers = [k for k in diffs if 'running_' in k]
    assert len(bn_buffers) == 2 * 7  # stem + 3 groups x 2 norms
    bad = {k: v for k, v in diffs.items() if v > 1e-4}
    assert not bad, bad
    assert set(tracked.values()) == {10}


def test_two_processes_without_sync_bn_differ(e2e_runs):
    loss_diff, diffs, _ = _compare(e2e_runs['plain'], e2e_runs['one'])
    buffers = {k: v for k, v in diffs.items() if 'running_' in k}
    print(f'no sync_bn: max rel loss diff {loss_diff:.2e}, '
          f'min rel BN-buffer diff {min(buffers.values()):.2e}')
    assert loss_diff > 1e-3
    assert min(buffers.values()) > 1e-3  # every BN buffer differs
