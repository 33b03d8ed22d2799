"""Install cifar-plugins.

``pip install -e .`` installs the tested OpenMMLab stack. mmcv comes in two
builds that install the same ``mmcv`` package: the compiled ``mmcv`` (CUDA ops,
needed by detection/segmentation) and the pure-Python ``mmcv-lite``, which is all
image classification needs and the only one with wheels on a CPU-only machine.
If full ``mmcv`` is already installed we require it instead of pulling
``mmcv-lite`` over it; ``CIFAR_PLUGINS_MMCV=full|lite`` forces the choice.
"""
import os
from importlib import metadata

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def read_requirements(name):
    with open(os.path.join(HERE, 'requirements', name)) as f:
        lines = (line.split('#', 1)[0].strip() for line in f)
        return [line for line in lines if line]


def mmcv_requirement():
    choice = os.environ.get('CIFAR_PLUGINS_MMCV', '').lower()
    if not choice:
        try:
            metadata.version('mmcv')
            choice = 'full'
        except metadata.PackageNotFoundError:
            choice = 'lite'
    if choice not in ('full', 'lite'):
        raise ValueError(f'CIFAR_PLUGINS_MMCV must be "full" or "lite", got {choice!r}')
    return 'mmcv>=2.0.0,<2.4.0' if choice == 'full' else 'mmcv-lite>=2.0.0,<2.4.0'


def read_version():
    scope = {}
    with open(os.path.join(HERE, 'cifar_plugins', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


setup(
    name='cifar-plugins',
    version=read_version(),
    description='MMPretrain plugins, configs and tools for CIFAR-10/100 experiments',
    long_description=open(os.path.join(HERE, 'README.md')).read(),
    long_description_content_type='text/markdown',
    python_requires='>=3.9',
    packages=find_packages(exclude=('tests', 'tests.*', 'configs', 'tools')),
    install_requires=read_requirements('runtime.txt') + [mmcv_requirement()],
    extras_require={'tests': read_requirements('tests.txt')},
    license='Apache License 2.0',
    zip_safe=False,
)
