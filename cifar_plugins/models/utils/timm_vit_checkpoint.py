"""Load timm ViT weights into mmpretrain's VisionTransformer (``timm-vit://``).

``init_cfg=dict(type='Pretrained', checkpoint='timm-vit://SOURCE')`` on a
``VisionTransformer`` backbone loads a timm ``vit_*`` state dict, with keys
mapped to mmpretrain's names. SOURCE is either a local file (``.pth``/``.pt``/
``.bin`` or ``.safetensors``, a plain state dict or one under ``model`` /
``state_dict``) or a timm model name with its pretrained tag, e.g.
``vit_tiny_patch16_224.augreg_in21k_ft_in1k`` (downloaded by timm from the
Hugging Face hub). The position embedding is resized to the backbone's grid by
``VisionTransformer``'s own load hook (mmpretrain's ``resize_pos_embed``).

Reused: mmengine's ``CheckpointLoader`` scheme registry and ``PretrainedInit``,
this package's weights-only local loader, timm's hub download. Written here:
the key mapping (the same names as mmpretrain's
``tools/model_converters/deit3_to_mmpretrain.py``) and the source resolution.
"""
import os.path as osp
import re

from mmengine.runner import CheckpointLoader

from cifar_plugins.compat.checkpoint import (CheckpointLoadError,
                                             mark_safe_loader,
                                             safe_load_from_local)

SCHEME = 'timm-vit://'

# (timm key pattern, mmpretrain key template); the first match wins.
_KEY_MAP = [
    (r'^patch_embed\.proj\.(weight|bias)$', r'patch_embed.projection.\1'),
    (r'^(cls_token|pos_embed)$', r'\1'),
    (r'^blocks\.(\d+)\.norm1\.(weight|bias)$', r'layers.\1.ln1.\2'),
    (r'^blocks\.(\d+)\.norm2\.(weight|bias)$', r'layers.\1.ln2.\2'),
    (r'^blocks\.(\d+)\.attn\.(qkv|proj)\.(weight|bias)$',
     r'layers.\1.attn.\2.\3'),
    (r'^blocks\.(\d+)\.mlp\.fc1\.(weight|bias)$',
     r'layers.\1.ffn.layers.0.0.\2'),
    (r'^blocks\.(\d+)\.mlp\.fc2\.(weight|bias)$',
     r'layers.\1.ffn.layers.1.\2'),
    (r'^norm\.(weight|bias)$', r'ln1.\1'),
]
# The classifier is replaced by the fine-tuning head.
_DROPPED = re.compile(r'^(head|head_dist)\.')


def convert_timm_vit(state_dict):
    """Map a timm ``VisionTransformer`` state dict to mmpretrain's key names.

    Args:
        state_dict (dict[str, Tensor]): timm keys
            (``blocks.0.mlp.fc1.weight``...).

    Returns:
        dict[str, Tensor]: mmpretrain ``VisionTransformer`` keys (no
        ``backbone.`` prefix); the classifier is dropped.

    Raises:
        KeyError: for keys of a timm ViT variant this mapping does not cover
            (register tokens, layer scale, ``fc_norm`` models...), so such a
            checkpoint is never loaded half-mapped.
    """
    converted, unknown = {}, []
    for key, value in state_dict.items():
        if _DROPPED.match(key):
            continue
        for pattern, template in _KEY_MAP:
            if re.match(pattern, key):
                converted[re.sub(pattern, template, key)] = value
                break
        else:
            unknown.append(key)
    if unknown:
        raise KeyError(
            f'Not a plain timm ViT state dict; no mapping for {unknown[:5]}'
            f'{" ..." if len(unknown) > 5 else ""} ({len(unknown)} keys)')
    return converted


def _read_local(path, map_location):
    if path.endswith('.safetensors'):
        from safetensors.torch import load_file
        try:  # safetensors holds tensors only: nothing in it can run code
            return load_file(path, device=str(map_location or 'cpu'))
        except Exception as err:  # parse failure of an untrusted file
            raise CheckpointLoadError(
                f'Cannot read {path}: not a valid safetensors file '
                f'({err}).') from None
    checkpoint = safe_load_from_local(path, map_location)
    for wrapper_key in ('state_dict', 'model'):
        if isinstance(checkpoint, dict) and wrapper_key in checkpoint:
            return checkpoint[wrapper_key]
    return checkpoint


def _download_with_timm(model_name):
    import timm
    if not timm.is_model(model_name.split('.')[0]):
        raise FileNotFoundError(f'{SCHEME}{model_name}: no such file, and not '
                                'a timm model name (expected a path or e.g. '
                                'vit_tiny_patch16_224.augreg_in21k_ft_in1k)')
    model = timm.create_model(model_name, pretrained=True, num_classes=0)
    return model.state_dict()


@CheckpointLoader.register_scheme(prefixes=SCHEME)
# local files: safe loader or safetensors; downloads: timm, weights_only=True
@mark_safe_loader
def load_timm_vit(filename, map_location=None):
    """mmengine checkpoint loader for ``timm-vit://SOURCE`` (see module
    doc)."""
    source = osp.expanduser(filename[len(SCHEME):])
    if osp.isfile(source):
        state_dict = _read_local(source, map_location)
    else:
        state_dict = _download_with_timm(source)
    return convert_timm_vit(state_dict)
