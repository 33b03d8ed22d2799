"""timm ViT checkpoints converted to mmpretrain's VisionTransformer."""
import os.path as osp

import pytest
import timm
import torch
from mmengine.config import Config
from mmpretrain.models.utils import resize_pos_embed

import cifar_plugins  # noqa: F401
from cifar_plugins.models import convert_timm_vit
from cifar_plugins.registry import MODELS
from helpers import REPO


def config(name):
    return Config.fromfile(osp.join(REPO, 'configs', f'{name}.py'))


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
