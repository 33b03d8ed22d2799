"""tools/infer.py prints what inference_model returns."""
import json
import os.path as osp
import pickle

import numpy as np
import pytest
from PIL import Image

import cifar_plugins  # noqa: F401
from cifar_plugins.apis import inference_model, init_model
from helpers import python_tool
from tiny_runs import TRAINED_EPOCHS, trained_run


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


def test_infer_tool(checkpoint, model, sample_images, tmp_path):
    paths = []
    for i, image in enumerate(sample_images[:2]):
        paths.append(str(tmp_path / f'tool{i}.png'))
        Image.fromarray(np.kron(image, np.ones((3, 3, 1), np.uint8))).save(paths[-1])
    out = python_tool('tools/infer.py', *paths, '--checkpoint', checkpoint, '--topk', '3',
                      '--json', '--device', 'cpu')
    assert out.returncode == 0, out.stderr[-3000:]
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [line['image'] for line in lines] == paths
    for line, path in zip(lines, paths):
        expected = inference_model(model, path, topk=3)
        assert line['labels'] == expected['topk_labels']
        assert line['classes'] == expected['topk_classes']
        assert line['scores'] == pytest.approx(expected['topk_scores'], rel=1e-5)
