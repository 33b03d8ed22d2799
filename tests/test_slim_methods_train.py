"""Every method config of the CIFAR-100 study (configs/cifar100: ConvNeXt, Ghost,
gated Ghost, HorNet, ResNeSt, CSP, CoAtNet, gMLP, their ablations and the
combinations) trains inside SlimResNet: a few optimizer steps through the
config's own data preprocessor, loss and optimizer, at a reduced width/depth."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmpretrain.structures import DataSample

import cifar_plugins  # noqa: F401
from cifar_plugins.registry import MODELS
from helpers import REPO

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
