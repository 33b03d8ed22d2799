"""Muon optimizer: the orthogonalisation, the two kinds of step, config build, resume."""
import copy

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope
from mmpretrain.structures import DataSample

import cifar_plugins  # noqa: F401
from cifar_plugins.engine.optimizers import MuonSGD, orthogonalize
from cifar_plugins.registry import MODELS

MUON_CONFIG = 'configs/fast/airbench_style_94_muon_cifar10.py'


@pytest.mark.parametrize('shape', [(64, 576), (576, 64), (48, 48)])
def test_orthogonalize_keeps_singular_vectors_and_flattens_singular_values(shape):
    torch.manual_seed(0)
    # singular values spread over a decade, as in a gradient of a conv filter bank
    u, _ = torch.linalg.qr(torch.randn(shape[0], min(shape)))
    v, _ = torch.linalg.qr(torch.randn(shape[1], min(shape)))
    s = torch.logspace(0, -1, min(shape))
    m = u @ torch.diag(s) @ v.T
    out = orthogonalize(m)
    assert out.shape == m.shape
    # the singular values move into a band around 1 (3 steps; exact would be all 1)
    sv = torch.linalg.svdvals(out)
    assert sv.min() > 0.6 and sv.max() < 1.25
    # the same singular vectors: U^T out V is diagonal
    core = u.T @ out @ v
    off = core - torch.diag(torch.diagonal(core))
    assert off.abs().max() < 1e-4
    assert torch.allclose(orthogonalize(1000.0 * m), out, atol=1e-5)  # scale-free


def test_registered_under_its_own_name_in_the_mmpretrain_scope():
    from cifar_plugins.registry import OPTIMIZERS
    assert OPTIMIZERS.get('MuonSGD') is MuonSGD


def test_orthogonalize_rejects_non_matrices():
    with pytest.raises(ValueError, match='2-D'):
        orthogonalize(torch.zeros(3, 3, 3))


def test_sgd_groups_step_exactly_as_torch_sgd():
    torch.manual_seed(0)
    p1 = torch.nn.Parameter(torch.randn(5, 3))
    p2 = torch.nn.Parameter(p1.detach().clone())
    ours = MuonSGD([p1], lr=0.1, momentum=0.85, nesterov=True, weight_decay=0.01, muon=False)
    ref = torch.optim.SGD([p2], lr=0.1, momentum=0.85, nesterov=True, weight_decay=0.01)
    for step in range(4):
        grad = torch.randn(5, 3)
        p1.grad, p2.grad = grad.clone(), grad.clone()
        ours.step()
        ref.step()
        assert torch.allclose(p1, p2, atol=1e-7), step


def test_muon_step_is_orthogonalised_nesterov_momentum_on_a_normalised_filter():
    torch.manual_seed(0)
    w = torch.nn.Parameter(torch.randn(8, 4, 3, 3))
    opt = MuonSGD([w], lr=0.2, momentum=0.6, nesterov=True, normalize_weights=True)
    grads = [torch.randn(8, 4, 3, 3) for _ in range(3)]
    expected = w.detach().clone()
    buf = torch.zeros_like(expected)
    for grad in grads:
        buf = 0.6 * buf + grad
        direction = grad + 0.6 * buf
        expected = expected * (8 ** 0.5 / expected.norm())
        expected = expected - 0.2 * orthogonalize(direction.reshape(8, -1)).view_as(expected)
        w.grad = grad.clone()
        opt.step()
        assert torch.allclose(w, expected, atol=1e-5)
    # the step has the size of an orthogonal matrix whatever the gradient's size
    before = w.detach().clone()
    w.grad = 1e6 * torch.randn_like(w)
    MuonSGD([w], lr=1.0).step()
    assert 0.5 * 8 ** 0.5 < (w - before).norm() < 1.3 * 8 ** 0.5


def test_bad_groups_are_refused_with_the_fix():
    with pytest.raises(ValueError, match='muon=False'):
        MuonSGD([torch.nn.Parameter(torch.zeros(4))], lr=0.1)
    with pytest.raises(ValueError, match='weight_decay'):
        MuonSGD([torch.nn.Parameter(torch.zeros(4, 4))], lr=0.1, weight_decay=0.1)
    with pytest.raises(ValueError, match='Nesterov'):
        MuonSGD([torch.nn.Parameter(torch.zeros(4, 4))], lr=0.1, nesterov=True)
    frozen = torch.nn.Parameter(torch.zeros(4), requires_grad=False)
    MuonSGD([frozen, torch.nn.Parameter(torch.zeros(4, 4))], lr=0.1)  # frozen vectors are fine


def tiny_muon_model_and_wrapper():
    cfg = Config.fromfile(MUON_CONFIG)
    cfg.model.backbone.widths = (8, 16, 16)
    cfg.model.head.in_channels = 16
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg.model)
        model.init_weights()
        wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    return cfg, model, wrapper


def test_config_gives_filters_muon_and_the_rest_sgd_at_airbench_rates():
    cfg, model, wrapper = tiny_muon_model_and_wrapper()
    names = {id(p): n for n, p in model.named_parameters()}
    by_name = {names[id(p)]: g for g in wrapper.optimizer.param_groups for p in g['params']}
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable <= set(by_name)
    for name in trainable:
        group = by_name[name]
        assert group['muon'] == ('conv' in name), name
        if group['muon']:
            assert group['lr'] == cfg.filter_lr and group['momentum'] == 0.6
    batch = cfg.batch_size
    # a summed loss's lr x batch for a mean loss; the decay per step is airbench's 2e-6 x batch
    norm = by_name['backbone.groups.1.norm1.bias']
    assert norm['lr'] == pytest.approx(0.053 * batch)
    assert norm['lr'] * norm['weight_decay'] == pytest.approx(2e-6 * batch)
    assert by_name['backbone.stem.0.bias']['lr'] == pytest.approx(0.053 * batch)
    head = by_name['head.fc.weight']
    assert head['lr'] == pytest.approx(0.67 * batch) and head['momentum'] == 0.85
    assert by_name['head.fc.bias']['lr'] == 0.0
    assert model.head.fc.weight.std().item() == pytest.approx(1.0, rel=0.3)


def train_steps(model, wrapper, steps, seed=1):
    gen = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        data = dict(inputs=torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8,
                                         generator=gen),
                    data_samples=None)
        labels = torch.randint(0, 10, (8,), generator=gen)
        data['data_samples'] = [DataSample().set_gt_label(int(y)) for y in labels]
        model.train_step(data, wrapper)


def test_training_with_the_config_and_resuming_the_optimizer_is_exact():
    cfg, model, wrapper = tiny_muon_model_and_wrapper()
    train_steps(model, wrapper, 2)
    saved_model = copy.deepcopy(model.state_dict())
    saved_optim = copy.deepcopy(wrapper.state_dict())
    train_steps(model, wrapper, 2, seed=2)
    after = copy.deepcopy(model.state_dict())

    _, resumed, resumed_wrapper = tiny_muon_model_and_wrapper()
    resumed.load_state_dict(saved_model)
    resumed_wrapper.load_state_dict(saved_optim)
    train_steps(resumed, resumed_wrapper, 2, seed=2)
    for key, value in resumed.state_dict().items():
        assert torch.equal(value, after[key]), key
    assert not torch.equal(after['backbone.groups.1.conv2.weight'],
                           saved_model['backbone.groups.1.conv2.weight'])
    assert torch.equal(after['head.fc.bias'], torch.zeros(10))


def test_muon_config_trains_through_the_runner_and_decays_lr_to_zero_with_the_run(
        cifar10_root, tmp_path):
    import json

    from helpers import python_tool, tiny_options
    epochs, batch = 2, 20
    out = python_tool('tools/train.py', MUON_CONFIG, '--work-dir', str(tmp_path), '--cfg-options',
                      *tiny_options(cifar10_root, max_epochs=epochs, batch_size=batch),
                      'model.backbone.widths=[16,32,32]', 'model.head.in_channels=32',
                      'custom_hooks.0.num_images=100',
                      # 20 steps of a 16/32/32 net: bfloat16 (what 'auto' picks on a CPU with
                      # AVX512-BF16) lands far from float32 (46 vs 68% on a Zen 4), so the
                      # threshold below would depend on the CI machine's CPU
                      'optim_wrapper.dtype=float32', timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    rows = [json.loads(line) for line in open(next(tmp_path.glob('*/vis_data/scalars.json')))]
    lrs = {row['iter']: row['lr'] for row in rows if 'lr' in row}
    total = epochs * 200 // batch  # 200 synthetic training images
    assert sorted(lrs) == list(range(1, total + 1))
    bias_lr = 0.053 * 2000  # the first group (BN shifts), as the config states it
    for it, lr in lrs.items():  # linear from the full lr to 0 at the last step, no warm-up
        assert lr == pytest.approx(bias_lr * (1 - (it - 1) / (total - 1)), rel=1e-6), it
    accuracy = [row for row in rows if 'accuracy/top1' in row][-1]['accuracy/top1']
    assert accuracy > 50.0  # 10 classes: chance is 10%
