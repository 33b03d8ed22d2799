"""The CIFAR-10 model configs in configs/: ViTs, large timm models, resized
inputs, and configs/metafile.yml."""
import os.path as osp

import pytest
import timm
import torch
from mmengine.config import Config
from mmpretrain.structures import DataSample

import cifar_plugins  # noqa: F401
from cifar_plugins.registry import DATASETS, MODELS
from helpers import REPO, python_tool, tiny_options

DOWNLOAD_CONFIGS = ['vit_tiny_ft_cifar10', 'eva02_large_ft_cifar10', 'eva_giant_ft_cifar10',
                    'convnext_xxlarge_ft_cifar10']
LARGE_TIMM = {  # config -> timm model it must name
    'eva02_large_ft_cifar10': 'eva02_large_patch14_448.mim_m38m_ft_in22k_in1k',
    'eva_giant_ft_cifar10': 'eva_giant_patch14_336.clip_ft_in1k',
    'convnext_xxlarge_ft_cifar10': 'convnext_xxlarge.clip_laion2b_soup_ft_in1k',
}


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def config(name):
    return Config.fromfile(osp.join(REPO, 'configs', f'{name}.py'))


def vit_layer_params(c, mlp):
    """Two LayerNorms, qkv, output projection and the two FFN linears (with biases)."""
    return 4 * c + (3 * c * c + 3 * c) + (c * c + c) + (c * mlp + mlp) + (mlp * c + c)


def test_vit_tiny_from_scratch_config():
    cfg = config('vit_tiny_cifar10')
    model = MODELS.build(cfg.model)
    model.init_weights()
    c, tokens = 192, (32 // 4)**2
    expected = (3 * 16 * c + c) + c + (tokens + 1) * c + 12 * vit_layer_params(c, 4 * c) + 2 * c
    assert n_params(model.backbone) == expected
    assert model.backbone.layers[-1].attn.out_drop.drop_prob == pytest.approx(0.1)
    assert model(torch.randn(2, 3, 32, 32), mode='tensor').shape == (2, 10)
    # (the ViT head starts at zero, so the backbone's own output is differentiated)
    model.backbone(torch.randn(2, 3, 32, 32))[0].square().sum().backward()
    assert model.backbone.patch_embed.projection.weight.grad.abs().sum() > 0


def test_vit_tiny_recipe_trains_one_epoch(tmp_path, cifar10_root):
    """RandAugment, Mixup/CutMix + label smoothing and AdamW run end to end."""
    out = python_tool('tools/train.py', 'configs/vit_tiny_cifar10.py', '--work-dir',
                      str(tmp_path), '--cfg-options', *tiny_options(cifar10_root),
                      'train_dataloader.dataset.indices=40', 'val_dataloader.dataset.indices=20')
    assert out.returncode == 0, out.stderr[-3000:]
    assert osp.isfile(osp.join(tmp_path, 'epoch_1.pth'))


def test_large_config_trains_with_a_tiny_timm_model():
    cfg = config('eva02_large_ft_cifar10')
    cfg.model.backbone.update(model_name='vit_tiny_patch16_224', pretrained=False, img_size=32,
                              patch_size=4)
    cfg.model.head.in_channels = 192
    model = MODELS.build(dict(cfg.model, data_preprocessor=cfg.data_preprocessor))
    model.init_weights()
    samples = [DataSample().set_gt_label(i) for i in range(4)]
    data = model.data_preprocessor(
        {'inputs': torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8),
         'data_samples': samples}, training=True)
    loss = model(**data, mode='loss')['loss']
    loss.backward()
    assert model.backbone.timm_model.patch_embed.proj.weight.grad.abs().sum() > 0


@pytest.mark.parametrize('name', sorted(LARGE_TIMM))
def test_large_timm_configs_match_their_checkpoints(name):
    """Built on the meta device: shapes and timm's pretrained config, no weights."""
    cfg = config(name)
    assert cfg.requires_download
    backbone_cfg = cfg.model.backbone
    assert backbone_cfg.model_name == LARGE_TIMM[name] and backbone_cfg.pretrained
    pretrained_cfg = timm.models.get_pretrained_cfg(LARGE_TIMM[name])
    assert pretrained_cfg.input_size == (3, cfg.input_size, cfg.input_size)
    for ours, theirs in ((cfg.data_preprocessor.mean, pretrained_cfg.mean),
                         (cfg.data_preprocessor.std, pretrained_cfg.std)):
        torch.testing.assert_close(torch.tensor(ours), torch.tensor(theirs) * 255, atol=1e-2,
                                   rtol=0)
    backbone_cfg.pretrained = False
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
        logits = model(torch.empty(2, 3, cfg.input_size, cfg.input_size), mode='tensor')
    assert logits.shape == (2, 10)
    assert cfg.model.head.in_channels == model.backbone.num_features


@pytest.mark.parametrize('name', DOWNLOAD_CONFIGS)
def test_resized_pipelines_produce_the_model_input_size(name, cifar10_root):
    cfg = config(name)
    assert cfg.requires_download and cfg.data_preprocessor.crop_padding == 0
    size = cfg.input_size
    for loader in (cfg.train_dataloader, cfg.test_dataloader):
        dataset = DATASETS.build(dict(loader.dataset, data_root=cifar10_root, download=False))
        assert dataset[0]['inputs'].shape == (3, size, size)


def test_metafile_lists_existing_configs_with_their_parameter_counts():
    import yaml
    with open(osp.join(REPO, 'configs', 'metafile.yml')) as f:
        meta = yaml.safe_load(f)
    collections = {c['Name'] for c in meta['Collections']}
    assert {m['Name'] for m in meta['Models']} >= set(DOWNLOAD_CONFIGS) | {
        'plain18_cifar10', 'plain34_cifar10', 'resnet34_cifar10', 'vit_tiny_cifar10',
        'custom_vit_cifar10'}
    for entry in meta['Models']:
        assert entry['In Collection'] in collections
        cfg = Config.fromfile(osp.join(REPO, entry['Config']))
        assert entry['Name'] == osp.splitext(osp.basename(entry['Config']))[0]
        if cfg.get('requires_download', False):
            cfg.model.backbone.pop('pretrained', None)
            with torch.device('meta'):  # shapes only: no memory, no initialisation cost
                model = MODELS.build(cfg.model)
        else:
            model = MODELS.build(cfg.model)
        assert n_params(model) == entry['Metadata']['Parameters'], entry['Name']
