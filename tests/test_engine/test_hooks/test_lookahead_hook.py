"""LookaheadHook: the hand-computed lookahead sequence, and bit-identical resume."""
import logging
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from torch import nn

import cifar_plugins  # noqa: F401
from cifar_plugins.engine.hooks import LookaheadHook
from cifar_plugins.engine.hooks.lookahead_hook import lookahead_decay
from cifar_plugins.registry import HOOKS
from helpers import REPO, python_tool, tiny_options

QUICK = osp.join(REPO, 'configs', 'fastcifarnet_per_sample_cifar10.py')


# ----------------------------------------------------------------- unit tests
def tiny_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2)).double()


def fake_runner(model, max_iters, it=0):
    return SimpleNamespace(model=model, iter=it, max_iters=max_iters,
                           logger=logging.getLogger('test_lookahead'))


def float_state(model):
    return {k: v.clone() for k, v in model.state_dict().items() if v.is_floating_point()}


def fake_step(model, gen):
    """What an optimizer step and a BN forward would do: move every float entry,
    count the batch."""
    with torch.no_grad():
        for v in model.state_dict().values():
            if v.is_floating_point():
                v.add_(torch.randn(v.shape, generator=gen, dtype=v.dtype))
        model[1].num_batches_tracked += 1


def reference(start, deltas, interval, total, base=0.95, power=3.0, final_merge=True):
    """The lookahead sequence written out: fast weights after each iteration."""
    fast = {k: v.clone() for k, v in start.items()}
    slow = {k: v.clone() for k, v in start.items()}
    seq = []
    for t, delta in enumerate(deltas, 1):
        fast = {k: fast[k] + delta[k] for k in fast}
        if t % interval == 0:
            d = base ** interval * (min(t, total) / total) ** power
            slow = {k: d * slow[k] + (1 - d) * fast[k] for k in slow}
            fast = {k: v.clone() for k, v in slow.items()}
        if final_merge and t == total:
            fast = {k: v.clone() for k, v in slow.items()}
        seq.append(fast)
    return seq, slow


def run_hook(hook, model, total):
    """Drive the hook for ``total`` iterations; return the model's float state
    after each iteration and the deltas of the fake steps."""
    runner = fake_runner(model, total)
    hook.before_train(runner)
    gen = torch.Generator().manual_seed(1)
    seen, deltas = [], []
    for i in range(total):
        before = float_state(model)
        fake_step(model, gen)
        deltas.append({k: v - before[k] for k, v in float_state(model).items()})
        runner.iter = i
        hook.after_train_iter(runner, i)
        seen.append(float_state(model))
    return seen, deltas


def stepped(prev, delta):
    return {k: prev[k] + delta[k] for k in prev}


def assert_close(a, b):
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-12, atol=1e-12, msg=k)


@pytest.mark.parametrize('final_merge', [True, False])
def test_weights_follow_hand_computed_lookahead(final_merge):
    model, total, interval = tiny_model(), 10, 3  # 10 % 3 != 0: the final merge matters
    start = float_state(model)
    hook = LookaheadHook(interval=interval, final_merge=final_merge)
    seen, deltas = run_hook(hook, model, total)
    expected, slow = reference(start, deltas, interval, total, final_merge=final_merge)
    for got, want in zip(seen, expected):
        assert_close(got, want)
    # the hook really averaged: without it the weights would be start + all deltas
    plain = {k: start[k] + sum(d[k] for d in deltas) for k in start}
    assert not torch.allclose(seen[-1]['0.weight'], plain['0.weight'])
    ema = {k: v for k, v in hook.ema.items() if v.is_floating_point()}
    assert_close(ema, slow)
    if final_merge:  # the model is the average, step 10 is dropped
        assert_close(seen[-1], ema)
        assert not torch.allclose(seen[-1]['0.weight'], stepped(seen[-2], deltas[-1])['0.weight'])
    else:  # the last step is kept, off the average
        assert_close(seen[-1], stepped(seen[-2], deltas[-1]))


def test_merge_every_interval_only():
    model = tiny_model()
    seen, deltas = run_hook(LookaheadHook(interval=4, final_merge=False), model, 12)
    # seen[i] is after iteration i + 1: merges at iterations 4, 8, 12 only;
    # in between the model moves exactly by the steps
    for i in (1, 2, 4, 5, 6, 8, 9, 10):
        assert_close(seen[i], stepped(seen[i - 1], deltas[i]))
    for i in (3, 7, 11):
        assert not torch.allclose(seen[i]['0.weight'], stepped(seen[i - 1], deltas[i])['0.weight'])


def test_decay_schedule():
    hook = LookaheadHook()
    total = 1000
    assert hook.decay(0, total) == 0.0
    assert hook.decay(total // 2, total) == pytest.approx(0.95 ** 5 * 0.5 ** 3)
    assert hook.decay(total, total) == pytest.approx(0.95 ** 5)
    assert hook.decay(total, total) == pytest.approx(0.7737809375)
    assert lookahead_decay(50, 100, base_decay=0.9, interval=2, power=1) == pytest.approx(0.405)
    # averaging weak early, strong late
    values = [hook.decay(t, total) for t in range(0, total + 1, 100)]
    assert values == sorted(values) and values[1] < 0.001


def test_non_float_buffers_are_copied_not_averaged():
    model = tiny_model()
    hook = LookaheadHook(interval=2)
    run_hook(hook, model, 7)
    # the model counted its own batches; the average holds a copy of the count
    assert model[1].num_batches_tracked.item() == 7
    assert hook.ema['1.num_batches_tracked'].dtype == torch.long
    assert hook.ema['1.num_batches_tracked'].item() == 7  # copied at the final merge
    # 5 more iterations, no final merge: the last merge (t=4) copied 7 + 4,
    # the model keeps counting on its own
    hook = LookaheadHook(interval=2, final_merge=False)
    run_hook(hook, model, 5)
    assert model[1].num_batches_tracked.item() == 12
    assert hook.ema['1.num_batches_tracked'].item() == 11


def test_final_merge_sets_the_model_to_the_average():
    model = tiny_model()
    hook = LookaheadHook(interval=5)
    runner = fake_runner(model, 7)
    hook.before_train(runner)
    gen = torch.Generator().manual_seed(3)
    for i in range(7):
        fake_step(model, gen)
        runner.iter = i
        if i == 6:
            before_merge = float_state(model)
            ema_before = {k: v.clone() for k, v in hook.ema.items() if v.is_floating_point()}
        hook.after_train_iter(runner, i)
    after = float_state(model)
    assert not torch.equal(before_merge['0.weight'], after['0.weight'])
    for k in after:  # decay 1.0: exactly the average, which itself is unchanged
        assert torch.equal(after[k], ema_before[k]) and torch.equal(hook.ema[k], ema_before[k])


def test_unwraps_model_wrappers():
    model = tiny_model()
    wrapped = nn.DataParallel(model)  # registered in mmengine's MODEL_WRAPPERS
    hook = LookaheadHook(interval=1, base_decay=1.0, power=0.0)  # decay 1: keep the start
    runner = fake_runner(wrapped, 3)
    hook.before_train(runner)
    assert '0.weight' in hook.ema  # names of the inner model, no 'module.'
    start = float_state(model)
    fake_step(model, torch.Generator().manual_seed(0))
    hook.after_train_iter(runner, 0)
    assert_close(float_state(model), start)


def test_checkpoint_state_restored_on_resume_only():
    model = tiny_model()
    hook = LookaheadHook(interval=3, final_merge=False)
    run_hook(hook, model, 5)  # merged at 3, then 2 steps off the average
    ckpt = {}
    hook.before_save_checkpoint(None, ckpt)
    saved = ckpt['lookahead']
    assert all(v.device.type == 'cpu' for v in saved.values())
    assert not torch.equal(saved['0.weight'], model.state_dict()['0.weight'])
    # resume (iter > 0): the average comes back
    fresh = LookaheadHook(interval=3)
    fresh.after_load_checkpoint(None, ckpt)
    fresh.before_train(fake_runner(model, 10, it=5))
    assert all(torch.equal(fresh.ema[k], saved[k]) for k in saved)
    # load_from (iter == 0): a new average from the loaded weights
    fresh = LookaheadHook(interval=3)
    fresh.after_load_checkpoint(None, ckpt)
    fresh.before_train(fake_runner(model, 10, it=0))
    assert torch.equal(fresh.ema['0.weight'], model.state_dict()['0.weight'])
    # the saved state is a copy: later merges do not change it
    before = saved['0.weight'].clone()
    fresh.update(model, 0.5)
    assert torch.equal(saved['0.weight'], before)


def test_total_iters_sets_the_schedule_length():
    model = tiny_model()
    hook = LookaheadHook(interval=2, total_iters=8)
    seen, deltas = run_hook(hook, model, 4)  # the run stops at 4 of the schedule's 8
    start = {k: seen[0][k] - deltas[0][k] for k in seen[0]}
    expected, _ = reference(start, deltas, 2, 8)  # decays (t / 8) ** 3, no final merge at 4
    for got, want in zip(seen, expected):
        assert_close(got, want)
    assert not torch.equal(seen[-1]['0.weight'], stepped(seen[-2], deltas[-1])['0.weight'])
    # a run longer than the schedule: past its end the decay stays at its final value
    model = tiny_model()
    seen, deltas = run_hook(LookaheadHook(interval=2, total_iters=4, final_merge=False),
                            model, 6)
    start = {k: seen[0][k] - deltas[0][k] for k in seen[0]}
    expected, _ = reference(start, deltas, 2, 4, final_merge=False)
    for got, want in zip(seen, expected):
        assert_close(got, want)


def test_arguments_are_checked_and_registered():
    assert HOOKS.get('LookaheadHook') is LookaheadHook
    assert LookaheadHook.priority == 'ABOVE_NORMAL'
    for bad in (dict(interval=0), dict(interval=2.0), dict(base_decay=1.5), dict(power=-1),
                dict(total_iters=0)):
        with pytest.raises(ValueError):
            LookaheadHook(**bad)


# ------------------------------------------------------------------- resume
def train(config, work_dir, data_root, max_epochs, resume=None):
    opts = tiny_options(data_root, max_epochs=4, batch_size=40, extra=[
        'randomness.deterministic=True', 'default_hooks.checkpoint.save_best=None'])
    opts = [o for o in opts if not o.startswith('train_cfg.max_epochs=')]
    opts.append(f'train_cfg.max_epochs={max_epochs}')
    args = ['tools/train.py', str(config), '--work-dir', str(work_dir), '--cfg-options', *opts]
    if resume is not None:
        args += ['--resume'] + ([] if resume is True else [str(resume)])
    out = python_tool(*args, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout + out.stderr


def load(path):
    return torch.load(path, map_location='cpu', weights_only=True)


def differing(a, b):
    assert a.keys() == b.keys()
    return [k for k in a if not torch.equal(a[k], b[k])]


@pytest.fixture(scope='module')
def runs(tmp_path_factory, cifar10_root):
    base = tmp_path_factory.mktemp('lookahead')
    # 5 iterations an epoch, interval 3: the epoch-2 checkpoint (iteration 10)
    # falls between merges, so the average differs from the saved weights and a
    # resume that loses it cannot repeat the run (with interval 5 it could).
    # total_iters: the 2-epoch half follows the 4-epoch schedule, as a run
    # killed after epoch 2 would
    config = base / 'lookahead_cfg.py'
    config.write_text(f'_base_ = [{QUICK!r}]\n'
                      "custom_hooks = [dict(type='LookaheadHook', interval=3, "
                      "total_iters=20)]\n")
    full, split, dropped = base / 'full', base / 'split', base / 'dropped'
    train(config, full, cifar10_root, 4)
    train(config, split, cifar10_root, 2)
    log = train(config, split, cifar10_root, 4, resume=True)
    # the same resume from the epoch-2 checkpoint without its lookahead state
    ckpt = load(split / 'epoch_2.pth')
    del ckpt['lookahead']
    dropped.mkdir()
    torch.save(ckpt, dropped / 'epoch_2.pth')
    dropped_log = train(config, dropped, cifar10_root, 4, resume=dropped / 'epoch_2.pth')
    return full, split, dropped, log, dropped_log


def test_resumed_run_ends_bit_identical(runs):
    full, split, _, log, _ = runs
    assert 'averaged weights restored from the checkpoint' in log
    a, b = load(full / 'epoch_2.pth'), load(split / 'epoch_2.pth')
    assert not differing(a['state_dict'], b['state_dict'])
    assert not differing(a['lookahead'], b['lookahead'])
    a, b = load(full / 'epoch_4.pth'), load(split / 'epoch_4.pth')
    assert a['meta']['iter'] == 20 and len(a['state_dict']) > 20
    assert not differing(a['state_dict'], b['state_dict'])
    assert not differing(a['lookahead'], b['lookahead'])


def test_checkpoints_hold_the_lookahead_state(runs):
    full = runs[0]
    mid, last = load(full / 'epoch_2.pth'), load(full / 'epoch_4.pth')
    for ckpt in (mid, last):
        assert ckpt['lookahead'].keys() == ckpt['state_dict'].keys()
    # iteration 10: one step after the merge at 9, the model is off the average
    assert differing(mid['state_dict'], mid['lookahead'])
    # iteration 20: the final merge made the model the average
    assert not differing(last['state_dict'], last['lookahead'])


def test_resume_without_the_lookahead_state_drifts(runs):
    full, _, dropped, _, dropped_log = runs
    assert 'holds no lookahead state' in dropped_log
    a, c = load(full / 'epoch_4.pth'), load(dropped / 'epoch_4.pth')
    assert differing(a['state_dict'], c['state_dict'])
