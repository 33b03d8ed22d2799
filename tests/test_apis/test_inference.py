"""Inference API and tools/infer.py on a checkpoint of a tiny training run."""
import os.path as osp
import pickle

import numpy as np
import pytest
import torch
from PIL import Image

import cifar_plugins  # noqa: F401
from cifar_plugins.apis import CIFARInferencer, inference_model, init_model
from tiny_runs import QUICK, TRAINED_EPOCHS, trained_run

CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship',
           'truck']
MEAN = np.array([125.307, 122.961, 113.8575])
STD = np.array([51.5865, 50.847, 51.255])


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory, cifar10_root):
    return osp.join(trained_run(tmp_path_factory, cifar10_root), f'epoch_{TRAINED_EPOCHS}.pth')


@pytest.fixture(scope='module')
def model(checkpoint):
    return init_model(None, checkpoint, 'cpu')


@pytest.fixture(scope='module')
def sample_images(cifar10_root):
    """The first test images as H x W x 3 uint8 RGB arrays."""
    with open(osp.join(cifar10_root, 'cifar-10-batches-py', 'test_batch'), 'rb') as f:
        data = pickle.load(f)['data'][:6]
    return list(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))


def scores_by_hand(model, image):
    """Softmax of the model on one 32x32 RGB array, normalised by hand."""
    x = torch.from_numpy(((image - MEAN) / STD).transpose(2, 0, 1)).float()[None]
    with torch.no_grad():
        return torch.softmax(model(x, mode='tensor'), 1)[0].numpy()


def test_png_prediction_equals_model_on_the_same_tensor(model, sample_images, tmp_path):
    for i, image in enumerate(sample_images):
        path = str(tmp_path / f'img{i}.png')
        Image.fromarray(image).save(path)
        result = inference_model(model, path, topk=3)
        expected = scores_by_hand(model, image)
        assert result['pred_label'] == int(expected.argmax())
        np.testing.assert_allclose(result['pred_scores'], expected, rtol=1e-4, atol=1e-6)
        assert result['pred_class'] == CLASSES[result['pred_label']]
    # the check is colour-sensitive: reading the files as BGR would change the scores
    change = max(np.abs(scores_by_hand(model, img[..., ::-1].copy())
                        - scores_by_hand(model, img)).max() for img in sample_images)
    assert change > 0.05


def test_topk_is_sorted_and_named(model, sample_images):
    result = inference_model(model, sample_images[0], topk=4)
    assert len(result['topk_labels']) == len(result['topk_scores']) == 4
    assert result['topk_scores'] == sorted(result['topk_scores'], reverse=True)
    assert result['topk_labels'][0] == result['pred_label']
    assert result['topk_classes'] == [CLASSES[i] for i in result['topk_labels']]
    assert sum(result['pred_scores']) == pytest.approx(1.0, abs=1e-5)
    assert len(inference_model(model, sample_images[0], topk=50)['topk_labels']) == 10


def test_any_size_and_input_type(model, sample_images, tmp_path):
    image = sample_images[1]
    reference = inference_model(model, image)['pred_scores']
    # a wide image whose centre square is the 32x32 image: cropped back exactly
    rng = np.random.default_rng(0)
    wide = rng.integers(0, 256, (32, 56, 3), dtype=np.uint8)
    wide[:, 12:44] = image
    np.testing.assert_allclose(inference_model(model, wide)['pred_scores'], reference,
                               rtol=1e-5, atol=1e-7)
    # JPEG of any size is resized to 32x32 (same as resizing it by hand)
    big = np.kron(image, np.ones((7, 5, 1), dtype=np.uint8))  # 224 x 160
    path = str(tmp_path / 'big.jpg')
    Image.fromarray(big).save(path, quality=95)
    with Image.open(path) as pil:
        loaded = np.asarray(pil.convert('RGB'))
    square = loaded[32:192]  # centre 160 x 160
    by_hand = np.asarray(Image.fromarray(square).resize((32, 32), Image.Resampling.BICUBIC))
    result = inference_model(model, path)
    np.testing.assert_allclose(result['pred_scores'], scores_by_hand(model, by_hand),
                               rtol=1e-4, atol=1e-6)
    # PIL image, grey array, float array in [0, 1], batch array: consistent outputs
    pil_result = inference_model(model, Image.fromarray(image))
    np.testing.assert_allclose(pil_result['pred_scores'], reference, rtol=1e-6)
    float_result = inference_model(model, image.astype(np.float32) / 255)
    np.testing.assert_allclose(float_result['pred_scores'], reference, rtol=1e-5)
    grey = inference_model(model, image[..., 0])
    np.testing.assert_allclose(grey['pred_scores'],
                               scores_by_hand(model, np.repeat(image[..., :1], 3, 2)),
                               rtol=1e-4, atol=1e-6)
    batch = inference_model(model, np.stack(sample_images[:3]), batch_size=2)
    assert isinstance(batch, list) and len(batch) == 3
    for item, img in zip(batch, sample_images[:3]):
        np.testing.assert_allclose(item['pred_scores'], scores_by_hand(model, img),
                                   rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize('bad,error,match', [
    (np.zeros((32, 32, 5), np.uint8), ValueError, 'H x W x 3'),
    (np.full((32, 32, 3), 2.0), ValueError, 'floats in \\[0, 1\\]'),
    ('no/such/image.png', FileNotFoundError, 'Image not found'),
    (12, TypeError, 'file path, a PIL image'),
])
def test_bad_inputs_are_clear_errors(model, bad, error, match):
    with pytest.raises(error, match=match):
        inference_model(model, bad)


def test_inferencer_from_config_and_checkpoint(checkpoint, model, sample_images):
    """mmpretrain's inferencer interface, built from the config file."""
    inferencer = CIFARInferencer(QUICK, pretrained=checkpoint, device='cpu')
    result = inferencer([sample_images[2]], topk=2)[0]
    expected = inference_model(model, sample_images[2], topk=2)
    assert result['topk_labels'] == expected['topk_labels']
    assert result['pred_class'] == expected['pred_class']


def test_init_model_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='Checkpoint not found'):
        init_model(QUICK, str(tmp_path / 'missing.pth'))
    with pytest.raises(ValueError, match='Give a config'):
        init_model(None, None)
