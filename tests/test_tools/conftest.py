import pytest

from helpers import python_tool, tiny_options

QUICK = 'configs/fastcifarnet_per_sample_cifar10.py'


@pytest.fixture(scope='session')
def trained(tmp_path_factory, cifar10_root):
    """A 2-epoch quickstart run by tools/train.py: test_train.py checks and resumes it,
    test_test.py tests its checkpoint (session scope: trained once for both)."""
    work_dir = str(tmp_path_factory.mktemp('run'))
    out = python_tool('tools/train.py', QUICK, '--work-dir', work_dir, '--cfg-options',
                      *tiny_options(cifar10_root, max_epochs=2))
    assert out.returncode == 0, out.stderr[-3000:]
    return work_dir
