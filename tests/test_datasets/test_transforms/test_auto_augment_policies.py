"""cifar_plugins.datasets.transforms: the CIFAR AutoAugment and RandAugment policies."""
import numpy as np
import pytest

import cifar_plugins  # noqa: F401
from cifar_plugins.datasets.transforms import (CIFAR10_AUTOAUG_POLICY, CIFAR_RANDAUG_POLICY,
                                               autoaugment_op)
from cifar_plugins.registry import TRANSFORMS


def test_cifar10_autoaugment_policy_builds_and_transforms():
    assert len(CIFAR10_AUTOAUG_POLICY) == 25
    assert all(len(sub) == 2 for sub in CIFAR10_AUTOAUG_POLICY)
    assert all(TRANSFORMS.get(op['type']) is not None
               for sub in CIFAR10_AUTOAUG_POLICY for op in sub)
    transform = TRANSFORMS.build(dict(type='AutoAugment', policies='cifar10'))
    assert len(transform.transforms) == 25
    np.random.seed(0)  # mmcv transforms draw from numpy's global generator
    img = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    changed = 0
    for _ in range(40):
        out = transform({'img': img.copy()})['img']
        assert out.shape == (32, 32, 3) and out.dtype == np.uint8
        changed += not np.array_equal(out, img)
    assert changed > 10  # about 60% of the draws change a noise image


def test_autoaugment_magnitude_mapping():
    # (Rotate, 0.7, 2), (TranslateX, 0.3, 9): 30 deg * 2/9 and 150/331 of the width
    rotate, translate = CIFAR10_AUTOAUG_POLICY[1]
    assert rotate == dict(type='Rotate', angle=pytest.approx(20 / 3), prob=0.7)
    assert translate['type'] == 'Translate' and translate['direction'] == 'horizontal'
    assert translate['magnitude'] == pytest.approx(0.4532, abs=1e-4)
    # (ShearY, 0.2, 7), (Posterize, 0.3, 7): shear 0.3 * 7/9, 8 - 28/9 = 4.9 -> 5 bits
    shear, posterize = CIFAR10_AUTOAUG_POLICY[5]
    assert shear['direction'] == 'vertical' and shear['magnitude'] == pytest.approx(0.2333, 1e-3)
    assert posterize == dict(type='Posterize', bits=5, prob=0.3)
    # (Solarize, 0.5, 2): threshold 256 * 7/9; (Color, 0.7, 7): factor 1 +- 0.7
    assert CIFAR10_AUTOAUG_POLICY[14][0]['thr'] == pytest.approx(199.11, abs=0.01)
    assert CIFAR10_AUTOAUG_POLICY[10][0] == dict(type='ColorTransform',
                                                 magnitude=pytest.approx(0.7), prob=0.7)
    assert autoaugment_op('Equalize', 0.6, None) == dict(type='Equalize', prob=0.6)
    with pytest.raises(ValueError, match='magnitude level in 0..9'):
        autoaugment_op('Rotate', 0.5, 10)
    with pytest.raises(ValueError, match='Unknown AutoAugment operation'):
        autoaugment_op('Zoom', 0.5, 3)


def test_cifar_randaugment_policy_builds_and_transforms():
    types = {op['type'] for op in CIFAR_RANDAUG_POLICY}
    # the RandAugment paper's operations except Identity, in mmpretrain's names
    assert types == {'AutoContrast', 'Equalize', 'Rotate', 'Solarize', 'ColorTransform',
                     'Posterize', 'Contrast', 'Brightness', 'Sharpness', 'Shear', 'Translate'}
    assert len(CIFAR_RANDAUG_POLICY) == 13
    transform = TRANSFORMS.build(
        dict(type='RandAugment', policies='cifar', num_policies=3, magnitude_level=5))
    img = np.random.default_rng(1).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    for _ in range(20):
        out = transform({'img': img.copy()})['img']
        assert out.shape == (32, 32, 3) and out.dtype == np.uint8
