"""Install cifar-plugins.

``pip install -e .`` installs the tested OpenMMLab stack. mmcv comes in two
builds that install the same ``mmcv`` package: the compiled ``mmcv`` (CUDA
ops, needed by detection/segmentation) and the pure-Python ``mmcv-lite``, which
is all image classification needs and the only one with wheels on a CPU-only
machine. If full ``mmcv`` is already installed we require it instead of
pulling ``mmcv-lite`` over it; ``CIFAR_PLUGINS_MMCV=full|lite`` forces the
choice.

For ``mim`` (``mim search cifar-plugins``, ``mim train``), ``model-index.yml``,
``configs`` and ``tools`` go into ``cifar_plugins/.mim`` as mmpretrain does it:
copies for a wheel or sdist, symlinks for an editable install. mim looks for
``<site-packages>/<name>/.mim/model-index.yml``; an editable install has no
``cifar_plugins`` folder there (setuptools imports the package from the
checkout), so it gets ``<site-packages>/cifar-plugins/.mim/model-index.yml``
(the distribution's name), which imports the checkout's ``model-index.yml``:
``mim search cifar-plugins`` finds the zoo after either kind of install.
"""
import os
import os.path as osp
import shutil
import sys
import sysconfig
from importlib import metadata
from setuptools import find_packages, setup
from setuptools.command.editable_wheel import editable_wheel

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
        raise ValueError('CIFAR_PLUGINS_MMCV must be "full" or "lite", '
                         f'got {choice!r}')
    name = 'mmcv' if choice == 'full' else 'mmcv-lite'
    return f'{name}>=2.0.0,<2.4.0'


def read_version():
    scope = {}
    with open(os.path.join(HERE, 'cifar_plugins', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


MIM_FILES = ('model-index.yml', 'configs', 'tools')
MIM_DIR = osp.join(HERE, 'cifar_plugins', '.mim')
EDITABLE_INDEX = osp.join('cifar_plugins', '.mim', 'editable',
                          'model-index.yml')


def mim_mode(argv):
    """How the mim files are placed for the setup command in ``argv``.

    Args:
        argv (list[str]): The setup script's arguments.

    Returns:
        str | None: 'symlink' for an editable install, 'copy' for a wheel or
        sdist, None for anything else (e.g. reading the metadata).
    """
    if 'develop' in argv or 'editable_wheel' in argv:
        return 'symlink'
    if 'sdist' in argv or 'bdist_wheel' in argv:
        return 'copy'
    return None


def place(src, dst, mode):
    """Replace ``dst`` by a relative symlink to ``src`` or a copy of it.

    Args:
        src (str): The file or folder in the checkout.
        dst (str): Its place under ``cifar_plugins/.mim``.
        mode (str): 'symlink' or 'copy'.
    """
    if osp.islink(dst) or osp.isfile(dst):
        os.remove(dst)
    elif osp.isdir(dst):
        shutil.rmtree(dst)
    if mode == 'symlink':
        os.symlink(osp.relpath(src, osp.dirname(dst)), dst)
    elif osp.isdir(src):
        shutil.copytree(src, dst, ignore=shutil.ignore_patterns(
            '__pycache__', '*.pyc'))
    else:
        shutil.copyfile(src, dst)


def write_editable_index():
    """Write the editable install's model index: it imports the checkout's.

    Returns:
        str: Its path, relative to the checkout.
    """
    path = osp.join(HERE, EDITABLE_INDEX)
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(f"Import:\n  - {osp.join(HERE, 'model-index.yml')}\n")
    return EDITABLE_INDEX


def editable_data_files():
    """``data_files`` that put the editable model index where mim looks.

    Returns:
        list[tuple[str, list[str]]]: One entry, relative to the install
        prefix: ``<site-packages>/cifar-plugins/.mim``.
    """
    purelib = osp.relpath(sysconfig.get_path('purelib'),
                          sysconfig.get_path('data'))
    return [(osp.join(purelib, 'cifar-plugins', '.mim'),
             [write_editable_index()])]


def add_mim_extension(argv):
    """Put model-index.yml, configs and tools into ``cifar_plugins/.mim``.

    Args:
        argv (list[str]): The setup script's arguments.

    Returns:
        list: ``data_files`` for an editable install, else empty.
    """
    mode = mim_mode(argv)
    if mode is None:
        return []
    os.makedirs(MIM_DIR, exist_ok=True)
    for name in MIM_FILES:
        place(osp.join(HERE, name), osp.join(MIM_DIR, name), mode)
    return editable_data_files() if mode == 'symlink' else []


class EditableWheel(editable_wheel):
    """``editable_wheel`` that installs ``data_files`` too.

    setuptools' editable wheels skip them (it asks the distribution for
    ``has_data`` where the method is ``has_data_files``).
    """

    def _run_install(self, category):
        super()._run_install(category)
        if category == 'data' and self.distribution.has_data_files():
            self.run_command('install_data')


setup(
    name='cifar-plugins',
    version=read_version(),
    description='MMPretrain plugins, configs and tools for CIFAR-10/100 '
    'experiments',
    long_description=open(os.path.join(HERE, 'README.md')).read(),
    long_description_content_type='text/markdown',
    python_requires='>=3.9',
    packages=find_packages(exclude=('tests', 'tests.*', 'configs', 'tools')),
    package_data={'cifar_plugins': ['.mim/model-index.yml',
                                    '.mim/configs/**/*', '.mim/tools/**/*']},
    data_files=add_mim_extension(sys.argv),
    cmdclass={'editable_wheel': EditableWheel},
    install_requires=read_requirements('runtime.txt') + [mmcv_requirement()],
    extras_require={'tests': read_requirements('tests.txt')},
    license='Apache License 2.0',
    zip_safe=False,
)
