"""The model zoo index: metafiles in mmpretrain's convention, mim search."""
import ast
import glob
import os.path as osp
import shutil
import sys

import pytest
import yaml

from helpers import REPO, run_tool

METAFILES = sorted(
    osp.relpath(p, REPO) for p in glob.glob(
        osp.join(REPO, 'configs', '**', 'metafile.yml'), recursive=True))
DATASETS = ('CIFAR-10', 'CIFAR-100')


def load_yaml(path):
    with open(osp.join(REPO, path)) as f:
        return yaml.safe_load(f)


def zoo_names():
    """The Name of every metafile entry."""
    return [m['Name'] for path in METAFILES for m in load_yaml(path)['Models']]


def test_model_index_imports_every_metafile():
    imports = load_yaml('model-index.yml')['Import']
    assert all(osp.isfile(osp.join(REPO, path)) for path in imports)
    assert sorted(imports) == METAFILES


@pytest.mark.parametrize('metafile', METAFILES)
def test_entries_are_named_after_their_config(metafile):
    for entry in load_yaml(metafile)['Models']:
        config = entry['Config']
        assert osp.isfile(osp.join(REPO, config)), config
        assert entry['Name'] == osp.splitext(osp.basename(config))[0]
        for result in entry.get('Results', []):
            assert result['Dataset'] in DATASETS, entry['Name']


def test_names_are_unique_across_the_zoo():
    names = zoo_names()
    assert len(names) == len(set(names))


def test_mim_search_lists_the_zoo_offline():
    mim = shutil.which('mim', path=osp.dirname(sys.executable))
    if mim is None:
        pytest.skip('mim (openmim) is not installed')
    out = run_tool([mim, 'search', 'cifar-plugins', '--valid-config'],
                   timeout=120)
    assert out.returncode == 0, (
        'mim found no model index: reinstall the package (bash '
        'tools/setup_env.sh or pip install -e .)\n' + out.stderr[-2000:])
    listed = ast.literal_eval(out.stdout.strip().splitlines()[-1])
    assert {'quickstart_cifar10', 'fastcifarnet_per_sample_cifar10',
            'label_smoothing', 'slim_resnet_cifar100'} <= set(listed)
    assert sorted(listed) == sorted(zoo_names())
