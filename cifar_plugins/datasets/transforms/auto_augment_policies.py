"""CIFAR AutoAugment and RandAugment policies for mmpretrain's transforms.

mmpretrain's :class:`AutoAugment` and :class:`RandAugment` transforms and the
operations they compose (``Rotate``, ``Shear``, ``Posterize``...) are reused
unchanged; mmpretrain ships only ImageNet policies for them. This module adds
two presets, registered by name in mmpretrain's policy tables so that configs
select them with a string:

* ``dict(type='AutoAugment', policies='cifar10')``: the CIFAR-10 policy found
  by AutoAugment (Cubuk et al., "AutoAugment: Learning Augmentation Strategies
  from Data", CVPR 2019, appendix table of the reduced-CIFAR-10 policy), 25
  sub-policies of two operations each. The paper applies the same policy to
  CIFAR-100.
* ``dict(type='RandAugment', policies='cifar', num_policies=N,
  magnitude_level=M)``: the operation set of RandAugment (Cubuk et al.,
  "RandAugment: Practical automated data augmentation with a reduced search
  space", NeurIPS 2020), for the paper's CIFAR settings (e.g. CIFAR-10
  WRN-28-10: N=3, M=5; CIFAR-100 WRN-28-10: N=2, M=14).

Both run per image (numpy/PIL via mmcv) in the dataset pipeline, before
``PackInputs``.

**AutoAugment magnitude mapping.** The paper discretises each operation's
range into 10 levels ``m = 0..9``; the list below gives the value level ``m``
maps to (as in mmpretrain's own "imagenet" policy and torchvision). Signed
operations get a random sign (mmpretrain's ``random_negative_prob=0.5``).

- ShearX / ShearY -> ``Shear`` (horizontal / vertical),
  ``magnitude = 0.3 * m / 9`` (random sign).
- TranslateX / TranslateY -> ``Translate``, ``magnitude = 150/331 * m / 9``
  of the image width / height (random sign).
- Rotate -> ``Rotate``, ``angle = 30 * m / 9`` degrees (random sign).
- Color, Contrast, Brightness, Sharpness -> ``ColorTransform``, ``Contrast``,
  ``Brightness``, ``Sharpness`` with ``magnitude = 0.9 * m / 9``, i.e. an
  enhancement factor ``1 +- 0.1 * m``.
- Posterize -> ``Posterize``, ``bits = round(8 - 4 * m / 9)``.
- Solarize -> ``Solarize``, ``thr = 256 * (1 - m / 9)``.
- AutoContrast, Equalize, Invert -> the same names, no magnitude.

The authors' TensorFlow code uses different constants for some operations
(e.g. an enhancement factor in [0.1, 1.9] without random sign, translations of
at most 10 pixels); the mapping above is the common PyTorch one.
The empty area left by geometric operations is filled with grey (128,
mmpretrain's ``pad_val`` default). The CIFAR data here is RGB, whereas mmcv's
colour operations assume BGR when they compute grey levels (weights of R and B
swapped); the effect on the augmentation is negligible.
"""
from mmpretrain.datasets.transforms.auto_augment import (AUTOAUG_POLICIES,
                                                         RANDAUG_POLICIES)

NUM_LEVELS = 10  # the paper's discretisation of magnitudes: levels 0..9
MAX_LEVEL = NUM_LEVELS - 1

# AutoAugment CIFAR-10 policy (Cubuk et al. 2019, appendix): sub-policies of
# (operation, probability, magnitude level); None for ops without magnitude.
CIFAR10_SUBPOLICIES = (
    (('Invert', 0.1, None), ('Contrast', 0.2, 6)),
    (('Rotate', 0.7, 2), ('TranslateX', 0.3, 9)),
    (('Sharpness', 0.8, 1), ('Sharpness', 0.9, 3)),
    (('ShearY', 0.5, 8), ('TranslateY', 0.7, 9)),
    (('AutoContrast', 0.5, None), ('Equalize', 0.9, None)),
    (('ShearY', 0.2, 7), ('Posterize', 0.3, 7)),
    (('Color', 0.4, 3), ('Brightness', 0.6, 7)),
    (('Sharpness', 0.3, 9), ('Brightness', 0.7, 9)),
    (('Equalize', 0.6, None), ('Equalize', 0.5, None)),
    (('Contrast', 0.6, 7), ('Sharpness', 0.6, 5)),
    (('Color', 0.7, 7), ('TranslateX', 0.5, 8)),
    (('Equalize', 0.3, None), ('AutoContrast', 0.4, None)),
    (('TranslateY', 0.4, 3), ('Sharpness', 0.2, 6)),
    (('Brightness', 0.9, 6), ('Color', 0.2, 8)),
    (('Solarize', 0.5, 2), ('Invert', 0.0, None)),
    (('Equalize', 0.2, None), ('AutoContrast', 0.6, None)),
    (('Equalize', 0.2, None), ('Equalize', 0.6, None)),
    (('Color', 0.9, 9), ('Equalize', 0.6, None)),
    (('AutoContrast', 0.8, None), ('Solarize', 0.2, 8)),
    (('Brightness', 0.1, 3), ('Color', 0.7, 0)),
    (('Solarize', 0.4, 5), ('AutoContrast', 0.9, None)),
    (('TranslateY', 0.9, 9), ('TranslateY', 0.7, 9)),
    (('AutoContrast', 0.9, None), ('Solarize', 0.8, 3)),
    (('Equalize', 0.8, None), ('Invert', 0.1, None)),
    (('TranslateY', 0.7, 9), ('AutoContrast', 0.9, None)),
)

_ENHANCE_OPS = {
    'Color': 'ColorTransform',
    'Contrast': 'Contrast',
    'Brightness': 'Brightness',
    'Sharpness': 'Sharpness'
}
_PLAIN_OPS = ('AutoContrast', 'Equalize', 'Invert')


def autoaugment_op(name, prob, level):
    """Translate one AutoAugment operation into an mmpretrain transform dict.

    Args:
        name (str): Operation name as in the paper (``'ShearX'``,
            ``'TranslateY'``, ``'Color'``, ``'Posterize'``...).
        prob (float): Probability of applying the operation.
        level (int | None): Magnitude level in ``0..9``; ignored (may be
            None) for operations without magnitude.

    Returns:
        dict: Config of the mmpretrain transform (see the module docstring
        for the mapping).
    """
    if name in _PLAIN_OPS:
        return dict(type=name, prob=prob)
    if not isinstance(level, int) or not 0 <= level <= MAX_LEVEL:
        raise ValueError(f'AutoAugment op {name} needs a magnitude level in '
                         f'0..{MAX_LEVEL}, got {level!r}')
    frac = level / MAX_LEVEL
    if name in ('ShearX', 'ShearY'):
        direction = 'horizontal' if name == 'ShearX' else 'vertical'
        return dict(
            type='Shear', magnitude=0.3 * frac, direction=direction, prob=prob)
    if name in ('TranslateX', 'TranslateY'):
        direction = 'horizontal' if name == 'TranslateX' else 'vertical'
        return dict(
            type='Translate',
            magnitude=150 / 331 * frac,
            direction=direction,
            prob=prob)
    if name == 'Rotate':
        return dict(type='Rotate', angle=30 * frac, prob=prob)
    if name in _ENHANCE_OPS:
        return dict(type=_ENHANCE_OPS[name], magnitude=0.9 * frac, prob=prob)
    if name == 'Posterize':
        return dict(type='Posterize', bits=round(8 - 4 * frac), prob=prob)
    if name == 'Solarize':
        return dict(type='Solarize', thr=256 * (1 - frac), prob=prob)
    raise ValueError(f'Unknown AutoAugment operation {name!r}')


CIFAR10_AUTOAUG_POLICY = [[autoaugment_op(*op) for op in sub]
                          for sub in CIFAR10_SUBPOLICIES]

# RandAugment's operations (Cubuk et al. 2020) on mmpretrain's RandAugment
# scale: magnitude = M / total_level * (end - start) + start with total_level
# 10, so M = 10 is the top of the AutoAugment ranges above and larger M (the
# paper's CIFAR-100 setting M=14) extrapolates. Every op gets stronger with M
# (Posterize keeps fewer bits, Solarize a lower threshold). Each chosen op is
# applied (prob=1), as in the paper; the paper's Identity op is left out
# because mmpretrain has no such transform.
CIFAR_RANDAUG_POLICY = [
    dict(type='AutoContrast', prob=1.0),
    dict(type='Equalize', prob=1.0),
    dict(type='Rotate', magnitude_range=(0, 30), prob=1.0),
    dict(type='Solarize', magnitude_range=(256, 0), prob=1.0),
    dict(type='ColorTransform', magnitude_range=(0, 0.9), prob=1.0),
    dict(type='Posterize', magnitude_range=(8, 4), prob=1.0),
    dict(type='Contrast', magnitude_range=(0, 0.9), prob=1.0),
    dict(type='Brightness', magnitude_range=(0, 0.9), prob=1.0),
    dict(type='Sharpness', magnitude_range=(0, 0.9), prob=1.0),
    dict(
        type='Shear',
        magnitude_range=(0, 0.3),
        direction='horizontal',
        prob=1.0),
    dict(
        type='Shear', magnitude_range=(0, 0.3), direction='vertical',
        prob=1.0),
    dict(
        type='Translate',
        magnitude_range=(0, 150 / 331),
        direction='horizontal',
        prob=1.0),
    dict(
        type='Translate',
        magnitude_range=(0, 150 / 331),
        direction='vertical',
        prob=1.0),
]


def register_policy(table, name, policy):
    """Add ``policy`` to one of mmpretrain's policy tables under ``name``.

    Args:
        table (dict): ``AUTOAUG_POLICIES`` or ``RANDAUG_POLICIES``.
        name (str): Preset name used in configs.
        policy (list): The policy.

    Raises:
        KeyError: if ``name`` already holds a different policy.
    """
    if table.get(name, policy) != policy:
        raise KeyError(f'augmentation policy {name!r} is already registered')
    table[name] = policy


register_policy(AUTOAUG_POLICIES, 'cifar10', CIFAR10_AUTOAUG_POLICY)
register_policy(RANDAUG_POLICIES, 'cifar', CIFAR_RANDAUG_POLICY)
