"""cifar_plugins.datasets.cifar_files: the CIFAR files are verified and
unpickled safely."""
import os.path as osp
import pickle
import shutil

import numpy as np
import pytest

import cifar_plugins  # noqa: F401  (installs the safe loaders)
from cifar_plugins.datasets import CIFARDataError
from cifar_plugins.datasets.cifar_files import load_split, verify
from helpers import Call, open_payload


def test_corrupt_file_rejected(tmp_path, cifar10_root):
    root = str(tmp_path / 'c10')
    shutil.copytree(cifar10_root, root)
    path = osp.join(root, 'cifar-10-batches-py', 'data_batch_3')
    with open(path, 'r+b') as f:
        f.truncate(500)
    with pytest.raises(CIFARDataError, match='data_batch_3'):
        load_split(root, 'cifar10', 'train')


def test_wrong_shape_and_label_range_rejected(tmp_path, cifar10_root):
    root = str(tmp_path / 'c10')
    shutil.copytree(cifar10_root, root)
    path = osp.join(root, 'cifar-10-batches-py', 'data_batch_2')
    with open(path, 'wb') as f:
        pickle.dump({'data': np.zeros((4, 100), np.uint8), 'labels': [0] * 4}, f)
    with pytest.raises(CIFARDataError, match=r'\(N, 3072\)'):
        load_split(root, 'cifar10', 'train')
    with open(path, 'wb') as f:
        pickle.dump({'data': np.zeros((2, 3072), np.uint8), 'labels': [3, 12]}, f)
    with pytest.raises(CIFARDataError, match='labels outside 0..9'):
        load_split(root, 'cifar10', 'train')


def test_hostile_data_pickle_does_not_execute(tmp_path, cifar10_root):
    root = str(tmp_path / 'c10')
    shutil.copytree(cifar10_root, root)
    marker = tmp_path / 'pwned'

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), 'w'))
    with open(osp.join(root, 'cifar-10-batches-py', 'data_batch_1'), 'wb') as f:
        pickle.dump({'data': Payload(), 'labels': []}, f)
    with pytest.raises(CIFARDataError, match='not allowed'):
        load_split(root, 'cifar10', 'train')
    assert not marker.exists()


def test_verify_requires_full_splits(cifar10_root):
    with pytest.raises(CIFARDataError, match='expected 50000'):
        verify(cifar10_root, 'cifar10')


def test_data_payload_through_an_allowed_module_does_not_run(tmp_path, cifar10_root):
    """``numpy.load(stage2, None, True)``: numpy is an allowed *module*, but
    only exact (module, name) pairs resolve, so the pickled object array in
    the second file is never loaded."""
    import shutil
    from cifar_plugins.datasets import CIFARDataError
    from cifar_plugins.datasets.cifar_files import load_split
    marker = tmp_path / 'pwned'
    stage2 = tmp_path / 'stage2.npy'
    np.save(stage2, np.array([open_payload(marker)], dtype=object), allow_pickle=True)
    payload = Call(np.load, str(stage2), None, True)
    blob = pickle.dumps({'data': payload, 'labels': []}, protocol=2)
    assert b'numpy' in blob and b'load' in blob
    pickle.loads(blob)  # control: a plain unpickler runs it
    assert marker.exists()
    marker.unlink()
    root = tmp_path / 'c10'
    shutil.copytree(cifar10_root, root)
    (root / 'cifar-10-batches-py' / 'data_batch_1').write_bytes(blob)
    with pytest.raises(CIFARDataError, match='not allowed'):
        load_split(str(root), 'cifar10', 'train')
    assert not marker.exists()
