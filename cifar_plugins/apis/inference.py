"""Classify image files, PIL images or numpy arrays with a trained checkpoint.

    >>> from cifar_plugins.apis import init_model, inference_model
    >>> model = init_model('configs/resnet18_cifar10.py',
    ...                    'work_dirs/r18/epoch_200.pth')
    >>> results = inference_model(model, ['cat.jpg', 'ship.png'], topk=3)
    >>> results[0]['topk_classes']
    ['cat', 'dog', 'deer']
"""
import contextlib
import os.path as osp
import sys
from typing import List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.runner.checkpoint import _load_checkpoint
from mmpretrain.apis import ImageClassificationInferencer, get_model
from PIL import Image

from cifar_plugins.compat.config_data import config_from_text
from cifar_plugins.errors import ImageReadError

ImageInput = Union[str, Image.Image, np.ndarray]


def checkpoint_meta(checkpoint: str) -> dict:
    """``meta`` of an mmengine checkpoint (epoch, iter, cfg,
    dataset_meta...)."""
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'Checkpoint not found: {checkpoint}')
    return _load_checkpoint(checkpoint, map_location='cpu').get('meta') or {}


def load_config(config=None,
                checkpoint: Optional[str] = None,
                meta: Optional[dict] = None) -> Config:
    """The config as a :class:`Config`: from a path or object, else the copy
    mmengine stores in every checkpoint it saves (``meta['cfg']``; pass
    ``meta`` if the checkpoint was already read). The stored text is parsed
    as data (:func:`~cifar_plugins.compat.config_data.config_from_text`),
    never executed."""
    if isinstance(config, Config):
        return config
    if config is not None:
        return Config.fromfile(config)
    if checkpoint is None:
        raise ValueError(
            'Give a config, or a checkpoint saved by mmengine (it holds one).')
    cfg_text = (meta if meta is not None else
                checkpoint_meta(checkpoint)).get('cfg')
    if not cfg_text:
        raise ValueError(f'{checkpoint} holds no config (meta["cfg"]); '
                         'pass the config file.')
    return config_from_text(cfg_text, source=checkpoint)


def init_model(config=None,
               checkpoint: Optional[str] = None,
               device: Union[str, torch.device, None] = None):
    """Build a classifier from a config and load a checkpoint, in eval mode.

    Reused: :func:`mmpretrain.apis.get_model` (model building, class names
    from ``meta['dataset_meta']``, ``_config`` kept on the model); the weights
    go through mmengine's checkpoint loader, which ``cifar_plugins`` makes
    ``weights_only``-safe.

    Args:
        config (str | Config, optional): Config path or object. Defaults to
            the config stored in the checkpoint.
        checkpoint (str, optional): Checkpoint path; None leaves the weights
            at their initialisation.
        device (str | torch.device, optional): Defaults to CUDA when
            available, else CPU.
    """
    import cifar_plugins  # noqa: F401  (registers the plugin's modules)
    cfg = load_config(config, checkpoint)
    if checkpoint is not None and not osp.isfile(checkpoint):
        raise FileNotFoundError(f'Checkpoint not found: {checkpoint}')
    device = device or ('cuda' if torch.cuda.is_available() else 'cpu')
    return get_model(cfg, pretrained=checkpoint or False, device=device)


def model_input_size(model) -> int:
    """Side of the square images the model was trained on (``input_size`` in
    the config, 32 for CIFAR)."""
    cfg = getattr(model, '_config', None)
    return int(cfg.get('input_size', 32)) if cfg is not None else 32


def load_rgb(image: ImageInput) -> np.ndarray:
    """``H x W x 3`` uint8 RGB array from a path, a PIL image or an array.

    Arrays are taken as RGB: ``H x W x 3`` (or ``x 4``, alpha dropped) or
    ``H x W`` grey; float arrays must be in [0, 1].

    Args:
        image (str | PIL.Image.Image | np.ndarray): Image file path, PIL
            image or array.

    Raises:
        FileNotFoundError: the file does not exist.
        ImageReadError: the file is not an image PIL can decode (a user
            error: one ``ERROR:`` line in the tools).
    """
    if isinstance(image, str):
        if not osp.isfile(image):
            raise FileNotFoundError(f'Image not found: {image}')
        try:
            with Image.open(image) as pil:
                return np.asarray(pil.convert('RGB'))
        # PIL raises OSError (unknown or truncated format),
        # SyntaxError/ValueError (broken chunks) and DecompressionBombError
        # (absurd sizes) for files that are not images
        except (OSError, SyntaxError, ValueError,
                Image.DecompressionBombError) as err:
            raise ImageReadError(
                f'cannot read {image} as an image ({type(err).__name__}: '
                f'{err}); give PNG or JPEG files') from None
    if isinstance(image, Image.Image):
        return np.asarray(image.convert('RGB'))
    if isinstance(image, np.ndarray):
        array = image
        if array.ndim == 2:
            array = np.repeat(array[..., None], 3, axis=2)
        if array.ndim != 3 or array.shape[2] not in (3, 4):
            raise ValueError(
                f'Expected an H x W x 3 RGB array, got shape {image.shape}.')
        array = array[..., :3]
        if array.dtype != np.uint8:
            if not np.issubdtype(
                    array.dtype,
                    np.floating) or array.min() < 0 or array.max() > 1:
                raise ValueError(
                    'Non-uint8 arrays must be floats in [0, 1], got '
                    f'{array.dtype} in [{array.min()}, {array.max()}].')
            array = np.round(array * 255).astype(np.uint8)
        return np.ascontiguousarray(array)
    raise TypeError(
        f'Unsupported image type {type(image).__name__}: give a file path, '
        f'a PIL image or an H x W x 3 uint8 numpy array.')


def resize_square(image: np.ndarray,
                  size: int,
                  keep_ratio: bool = True) -> np.ndarray:
    """Resize to ``size x size`` (antialiased bicubic).

    With ``keep_ratio`` the largest centred square is cropped first, so
    non-square photos are not squashed; otherwise the image is stretched.
    """
    height, width = image.shape[:2]
    if keep_ratio and height != width:
        side = min(height, width)
        top, left = (height - side) // 2, (width - side) // 2
        image = image[top:top + side, left:left + side]
    if image.shape[:2] == (size, size):
        return image
    pil = Image.fromarray(image).resize((size, size), Image.Resampling.BICUBIC)
    return np.asarray(pil)


class CIFARInferencer(ImageClassificationInferencer):
    """mmpretrain's :class:`ImageClassificationInferencer` for CIFAR models.

    Two things differ from the parent, which feeds the image as loaded to
    the config's test pipeline: images are read as RGB (the parent reads
    files with OpenCV as BGR, while CIFAR datasets give RGB and the plugin's
    configs do not convert) and resized to the model's square input size
    (the CIFAR test pipeline only packs the 32x32 images). Model building,
    batching, the forward pass and result formatting are the parent's; the
    results also get the top-k classes.

    Args:
        model: A model from :func:`init_model`, a config path or Config.
        pretrained (str, optional): Checkpoint to load.
        device (str, optional): Device for a model built here.
        keep_ratio (bool): Centre-crop non-square images before resizing
            instead of stretching them. Defaults to True.
        **kwargs: Other arguments of :class:`ImageClassificationInferencer`
            (e.g. ``classes``).
    """

    postprocess_kwargs = {'topk'}

    def __init__(self,
                 model,
                 pretrained=None,
                 device=None,
                 keep_ratio: bool = True,
                 **kwargs):
        self.keep_ratio = keep_ratio
        super().__init__(
            model, pretrained=pretrained or False, device=device, **kwargs)

    def _init_pipeline(self, cfg: Config):
        size = int(cfg.get('input_size', 32))
        pack = super()._init_pipeline(cfg)

        def load_and_resize(image):
            img = resize_square(load_rgb(image), size, self.keep_ratio)
            return dict(
                img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2])

        return Compose([load_and_resize, pack])

    def preprocess(self, inputs: List[ImageInput], batch_size: int = 1):
        # BaseInferencer.preprocess: chunk ``map(self.pipeline, inputs)`` and
        # collate
        return super(ImageClassificationInferencer,
                     self).preprocess(inputs, batch_size)

    def _inputs_to_list(self, inputs) -> list:
        if isinstance(inputs, np.ndarray) and inputs.ndim == 4:
            return list(inputs)  # a batch N x H x W x 3
        return super()._inputs_to_list(inputs)

    def postprocess(self,
                    preds,
                    visualization,
                    return_datasamples=False,
                    topk: int = 5):
        results = super().postprocess(preds, visualization, return_datasamples)
        if return_datasamples:
            return results
        for result in results:
            scores = result['pred_scores']
            order = np.argsort(-scores, kind='stable')[:min(topk, len(scores))]
            result['topk_labels'] = [int(i) for i in order]
            result['topk_scores'] = [float(scores[i]) for i in order]
            if self.classes is not None:
                result['topk_classes'] = [self.classes[i] for i in order]
        return results


def inference_model(model,
                    images: Union[ImageInput, Sequence[ImageInput]],
                    topk: int = 5,
                    batch_size: int = 32,
                    keep_ratio: bool = True) -> Union[dict, List[dict]]:
    """Classify one image or a list of images with a model from
    :func:`init_model`.

    Args:
        model: The classifier.
        images: A path, PIL image or ``H x W x 3`` uint8 RGB array of any
            size, or a list of them (or an ``N x H x W x 3`` array).
        topk (int): Number of classes to return. Defaults to 5.
        batch_size (int): Images per forward pass. Defaults to 32.
        keep_ratio (bool): Centre-crop non-square images before resizing.

    Returns:
        dict | list[dict]: For each image ``pred_label``, ``pred_score``,
        ``pred_class``, ``pred_scores`` (all classes) and ``topk_labels``,
        ``topk_scores``, ``topk_classes``. A single image gives one dict.
    """
    single = not isinstance(images, (list, tuple)) and not (isinstance(
        images, np.ndarray) and images.ndim == 4)
    inferencer = CIFARInferencer(model, keep_ratio=keep_ratio)
    with contextlib.redirect_stdout(sys.stderr):  # the parent's progress bar
        results = inferencer(images, batch_size=batch_size, topk=topk)
    return results[0] if single else results
