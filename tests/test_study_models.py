"""The CIFAR-10 model study: plain nets, ViTs (scratch, fine-tuned, ConvStemViT), timm models."""
import os.path as osp

import pytest
import timm
import torch
from mmengine.config import Config
from mmpretrain.models.backbones import ResNet_CIFAR
from mmpretrain.models.utils import resize_pos_embed
from mmpretrain.structures import DataSample

import cifar_plugins  # noqa: F401
from cifar_plugins.models import ConvStemViT, PlainResNet_CIFAR, convert_timm_vit
from cifar_plugins.registry import DATASETS, MODELS
from helpers import REPO, python_tool, tiny_options

WIDTHS = (64, 128, 256, 512)
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


# ---------------------------------------------------------------- plain ResNets


def plain_resnet_params(blocks, widths=WIDTHS, stem=64):
    """3x3 conv stem + BN, then per block two 3x3 convs and two BNs, no shortcut."""
    total = 3 * stem * 9 + 2 * stem
    cin = stem
    for n, w in zip(blocks, widths):
        for _ in range(n):
            total += cin * w * 9 + w * w * 9 + 4 * w
            cin = w
    return total


@pytest.mark.parametrize('depth,blocks', [(18, (2, 2, 2, 2)), (34, (3, 4, 6, 3))])
def test_plain_resnet_params_and_shape(depth, blocks):
    net = MODELS.build(dict(type='PlainResNet_CIFAR', depth=depth))
    assert n_params(net) == plain_resnet_params(blocks)
    # the ResNet of the same depth differs exactly by its three 1x1 projection shortcuts
    projections = sum(cin * cout + 2 * cout for cin, cout in zip(WIDTHS, WIDTHS[1:]))
    assert n_params(ResNet_CIFAR(depth=depth)) - n_params(net) == projections
    out = net(torch.randn(2, 3, 32, 32))
    assert len(out) == 1 and out[0].shape == (2, 512, 4, 4)


def zero_last_bns(net):
    for layer_name in net.res_layers:
        for block in getattr(net, layer_name):
            torch.nn.init.zeros_(block.norm2.weight)
            torch.nn.init.zeros_(block.norm2.bias)


def test_plain_resnet_has_no_shortcut_path():
    kw = dict(depth=18, stem_channels=8, base_channels=8)
    plain, residual = PlainResNet_CIFAR(**kw), ResNet_CIFAR(**kw)
    assert not [n for n, _ in plain.named_modules() if 'downsample' in n]
    for net in (plain, residual):
        net.init_weights()
        zero_last_bns(net)
        net.eval()
    x1, x2 = torch.randn(2, 3, 32, 32), torch.randn(2, 3, 32, 32)
    # with every block's residual branch silenced only the shortcuts carry the input
    assert torch.count_nonzero(plain(x1)[0]) == 0 and torch.count_nonzero(plain(x2)[0]) == 0
    assert not torch.allclose(residual(x1)[0], residual(x2)[0])


def test_plain_resnet_gradients_reach_stem_and_default_init_is_not_zero():
    net = PlainResNet_CIFAR(depth=18, stem_channels=8, base_channels=8)
    net.init_weights()  # zero_init_residual stays off: the output must not be constant
    out = net(torch.randn(4, 3, 32, 32))[0]
    assert out.abs().sum() > 0
    out.square().mean().backward()
    assert net.conv1.weight.grad.abs().sum() > 0


def test_plain_resnet_rejects_options_that_need_a_shortcut():
    with pytest.raises(ValueError, match='zero_init_residual'):
        PlainResNet_CIFAR(depth=18, zero_init_residual=True)
    with pytest.raises(ValueError, match='drop_path_rate'):
        PlainResNet_CIFAR(depth=18, drop_path_rate=0.1)
    with pytest.raises(KeyError, match='18 or 34'):
        PlainResNet_CIFAR(depth=50)


# ---------------------------------------------------------------- ViT from scratch


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


# ---------------------------------------------------------------- ConvStemViT


def conv_stem_vit_params(stem=(64, 128, 256), c=256, layers=7, mlp=512, tokens=64):
    total, cin = 0, 3
    for w in stem:  # 3x3 conv without bias + BN
        total += 9 * cin * w + 2 * w
        cin = w
    total += cin * c + c  # 1x1 projection to tokens
    total += tokens * c  # position embedding
    total += layers * vit_layer_params(c, mlp)
    return total + 2 * c + (c + 1)  # final LayerNorm + sequence-pooling scorer


def test_conv_stem_vit_registry_params_and_shapes():
    net = MODELS.build(dict(type='ConvStemViT'))
    net.init_weights()
    assert n_params(net) == conv_stem_vit_params()
    out = net(torch.randn(2, 3, 32, 32))
    assert len(out) == 1 and out[0].shape == (2, 256)
    # another input size: the 8x8 position embedding is interpolated
    assert net(torch.randn(1, 3, 48, 48))[0].shape == (1, 256)


def test_conv_stem_vit_gradients_reach_stem():
    net = ConvStemViT(stem_channels=(8, 16), stem_strides=(2, 2), embed_dims=32, num_layers=2,
                      num_heads=2)
    net.init_weights()
    assert net.pos_embed.shape == (1, 64, 32)
    net(torch.randn(2, 3, 32, 32))[0].square().sum().backward()
    assert net.stem[0].conv.weight.grad.abs().sum() > 0
    assert net.pos_embed.grad.abs().sum() > 0


def test_sequence_pooling_is_a_softmax_weighted_mean():
    net = ConvStemViT(stem_channels=(8, ), stem_strides=(4, ), embed_dims=16, num_layers=1,
                      num_heads=2)
    tokens = torch.randn(3, 10, 16)
    weights = torch.softmax(tokens @ net.pool.score.weight.T + net.pool.score.bias, dim=1)
    torch.testing.assert_close(net.pool(tokens), (weights * tokens).sum(1))


def test_conv_stem_vit_bad_arguments():
    with pytest.raises(ValueError, match='not divisible by the stem stride'):
        ConvStemViT(img_size=30)
    with pytest.raises(ValueError, match='num_heads'):
        ConvStemViT(embed_dims=100, num_heads=3)
    with pytest.raises(ValueError, match='equal length'):
        ConvStemViT(stem_channels=(8, 16), stem_strides=(2, ))


# ---------------------------------------------------------------- timm ViT -> mmpretrain ViT


def smooth_pos_embed(grid, dims):
    """2-D sine-cosine position embedding: smooth over the grid, as learned ones are."""
    ys, xs = torch.meshgrid(torch.arange(grid), torch.arange(grid), indexing='ij')
    freqs = 1.0 / 10000**(torch.arange(dims // 4) / (dims // 4))
    parts = [f(coord.flatten()[:, None].float() * freqs)
             for coord in (xs, ys) for f in (torch.sin, torch.cos)]
    return torch.cat(parts, dim=1)[None] * 0.02


@pytest.fixture(scope='module')
def timm_vit(tmp_path_factory):
    """A randomly initialised timm vit_tiny_patch16_224 saved as .pth and .safetensors."""
    from safetensors.torch import save_file
    torch.manual_seed(0)
    model = timm.create_model('vit_tiny_patch16_224', pretrained=False)
    with torch.no_grad():
        model.pos_embed[:, 1:] = smooth_pos_embed(14, 192)
        model.pos_embed[:, :1] = torch.randn(1, 1, 192) * 0.02
    model.eval()
    folder = tmp_path_factory.mktemp('timm_vit')
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    torch.save({'model': state}, folder / 'vit_tiny.pth')  # official-style wrapper key
    save_file(state, str(folder / 'vit_tiny.safetensors'))
    return model, folder


def test_convert_timm_vit_maps_every_key():
    state = timm.create_model('vit_tiny_patch16_224', pretrained=False).state_dict()
    converted = convert_timm_vit(state)
    reference = MODELS.build(dict(type='VisionTransformer', arch='deit-tiny', img_size=224,
                                  patch_size=16)).state_dict()
    assert set(converted) == set(reference)
    assert all(converted[k].shape == reference[k].shape for k in reference)
    assert not [k for k in converted if k.startswith('head')]


def test_finetune_config_loads_timm_weights_exactly(timm_vit, monkeypatch):
    source, folder = timm_vit
    monkeypatch.setenv('VIT_TINY_CKPT', str(folder / 'vit_tiny.pth'))
    cfg = config('vit_tiny_ft_cifar10')
    assert cfg.model.backbone.init_cfg.checkpoint == f"timm-vit://{folder / 'vit_tiny.pth'}"
    model = MODELS.build(cfg.model)
    model.init_weights()
    loaded = model.backbone.state_dict()
    for key, value in convert_timm_vit(source.state_dict()).items():
        assert torch.equal(loaded[key], value), key
    model.eval()
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        ours = model.backbone(x)[0]
        theirs = source.forward_head(source.forward_features(x), pre_logits=True)
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-4)


def test_safetensors_checkpoint_and_pos_embed_resize_round_trip(timm_vit):
    source, folder = timm_vit
    vit = MODELS.build(dict(
        type='VisionTransformer', arch='deit-tiny', img_size=448, patch_size=16,
        init_cfg=dict(type='Pretrained',
                      checkpoint=f"timm-vit://{folder / 'vit_tiny.safetensors'}")))
    vit.init_weights()
    assert vit.pos_embed.shape == (1, 1 + 28 * 28, 192)
    torch.testing.assert_close(vit.layers[5].ffn.layers[1].weight, source.blocks[5].mlp.fc2.weight,
                               atol=0, rtol=0)
    original = source.pos_embed.detach()
    assert torch.equal(vit.pos_embed[:, :1], original[:, :1])  # class token not interpolated
    back = resize_pos_embed(vit.pos_embed.detach(), (28, 28), (14, 14), mode='bicubic')
    torch.testing.assert_close(back, original, atol=1e-3, rtol=0)


def test_timm_vit_source_errors(tmp_path):
    from cifar_plugins.models.utils.timm_vit_checkpoint import load_timm_vit
    with pytest.raises(FileNotFoundError, match='no such file, and not a timm model name'):
        load_timm_vit(f'timm-vit://{tmp_path}/missing.pth')
    state = {'reg_token': torch.zeros(1, 4, 192), 'cls_token': torch.zeros(1, 1, 192)}
    with pytest.raises(KeyError, match=r"Not a plain timm ViT.*reg_token"):
        convert_timm_vit(state)


# ---------------------------------------------------------------- timm wrapper


def test_timm_pooled_backbone_tiny_vit_forward_backward():
    backbone = MODELS.build(dict(type='TIMMPooledBackbone', model_name='vit_tiny_patch16_224',
                                 img_size=32, patch_size=4))
    reference = timm.create_model('vit_tiny_patch16_224', img_size=32, patch_size=4,
                                  num_classes=0)
    assert n_params(backbone) == n_params(reference)
    out = backbone(torch.randn(2, 3, 32, 32))
    assert len(out) == 1 and out[0].shape == (2, 192) == (2, backbone.num_features)
    out[0].sum().backward()
    assert backbone.timm_model.patch_embed.proj.weight.grad.abs().sum() > 0


def test_timm_pooled_backbone_keeps_timm_pooling_and_fc_norm():
    """EVA pools the tokens and then applies fc_norm: the output is that feature."""
    kw = dict(img_size=28, patch_size=14)
    backbone = MODELS.build(dict(type='TIMMPooledBackbone', model_name='eva02_tiny_patch14_224',
                                 **kw))
    full = timm.create_model('eva02_tiny_patch14_224', **kw)  # with its classifier
    full.load_state_dict(backbone.timm_model.state_dict(), strict=False)
    backbone.eval(), full.eval()
    x = torch.randn(2, 3, 28, 28)
    with torch.no_grad():
        expected = full.forward_head(full.forward_features(x), pre_logits=True)
        torch.testing.assert_close(backbone(x)[0], expected)


def test_timm_pooled_backbone_local_pretrained_file_survives_init_weights(tmp_path):
    source = timm.create_model('resnet10t', pretrained=False)
    torch.save(source.state_dict(), tmp_path / 'resnet10t.pth')
    backbone = MODELS.build(dict(type='TIMMPooledBackbone', model_name='resnet10t',
                                 pretrained=True,
                                 pretrained_cfg_overlay=dict(file=str(tmp_path / 'resnet10t.pth'))))
    backbone.init_weights()  # must not re-run timm's initialisation over the weights
    for key, value in backbone.timm_model.state_dict().items():
        assert torch.equal(value, source.state_dict()[key]), key
    out = backbone(torch.randn(2, 3, 32, 32))[0]
    assert out.shape == (2, 512)
    out.sum().backward()
    assert backbone.timm_model.conv1[0].weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match='num_classes'):
        MODELS.build(dict(type='TIMMPooledBackbone', model_name='resnet10t', num_classes=10))


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


# ---------------------------------------------------------------- resized-input configs


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
