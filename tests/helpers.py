"""Helpers shared by the tests (importable from every folder: pytest.ini puts tests/
on ``sys.path``): the repository root, running the project's tools, small CIFAR
files in the official format, snapshots of folders, test archives and pickle
payloads, and readers of the tables and figures the analysis tools write."""
import csv
import hashlib
import io
import os
import os.path as osp
import pickle
import runpy
import subprocess
import sys
import tarfile

import numpy as np
from PIL import Image

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
# study files (tools/study.py) and their recipe fragments: not training configs
STUDIES = osp.join(REPO, 'configs', 'studies', '')


def tiny_options(data_root, max_epochs=1, batch_size=20, extra=()):
    """--cfg-options that point a config at ``data_root`` and make it tiny."""
    opts = [f'train_cfg.max_epochs={max_epochs}', f'train_cfg.val_interval={max_epochs}',
            'default_hooks.logger.interval=1', 'default_hooks.checkpoint.interval=1',
            'default_hooks.checkpoint.max_keep_ckpts=5']
    for split in ('train', 'val', 'test'):
        opts += [f'{split}_dataloader.dataset.data_root={data_root}',
                 f'{split}_dataloader.dataset.download=False',
                 f'{split}_dataloader.batch_size={batch_size}',
                 f'{split}_dataloader.num_workers=0',
                 f'{split}_dataloader.persistent_workers=False']
    return opts + list(extra)


def run_tool(args, timeout=600, env=None):
    """Run a command from the repo root with this interpreter's environment."""
    full_env = dict(os.environ, PYTHONWARNINGS='ignore', OMP_NUM_THREADS='1')
    full_env.update(env or {})
    bin_dir = osp.dirname(sys.executable)
    full_env['PATH'] = bin_dir + os.pathsep + full_env.get('PATH', '')
    return subprocess.run(args, cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, env=full_env)


def python_tool(script, *args, **kwargs):
    return run_tool([sys.executable, script, *args], **kwargs)


def run_cli(script, argv):
    """Run a tool in this process (as ``python script ...`` would), without the
    few seconds of a fresh interpreter."""
    old = sys.argv
    sys.argv = argv
    try:
        runpy.run_path(osp.join(REPO, script), run_name='__main__')
    finally:
        sys.argv = old


# ---------------------------------------------------------------- data and archives

def make_images(labels, num_classes, rng):
    """Images whose mean colour encodes the class (learnable) plus noise."""
    hues = np.linspace(0, 255, num_classes, dtype=np.float32)
    base = np.stack([hues, 255 - hues, (hues * 7) % 256], axis=1)[labels]  # N,3
    noise = rng.normal(0, 25, size=(len(labels), 3, 32, 32))
    imgs = np.clip(base[:, :, None, None] + noise, 0, 255).astype(np.uint8)
    return imgs.reshape(len(labels), 3072)


def write_cifar(root, name='cifar10', per_batch=40, n_test=100, seed=0):
    """Write a small dataset in the official layout and pickle format."""
    rng = np.random.default_rng(seed)
    n_cls = 10 if name == 'cifar10' else 100
    if name == 'cifar10':
        folder = osp.join(root, 'cifar-10-batches-py')
        os.makedirs(folder, exist_ok=True)
        files = [(f'data_batch_{i}', per_batch) for i in range(1, 6)] + [('test_batch', n_test)]
        for fname, n in files:
            labels = rng.integers(0, n_cls, n)
            entry = {'batch_label': fname, 'labels': labels.tolist(),
                     'data': make_images(labels, n_cls, rng)}
            with open(osp.join(folder, fname), 'wb') as f:
                pickle.dump(entry, f, protocol=2)
        with open(osp.join(folder, 'batches.meta'), 'wb') as f:
            pickle.dump({'label_names': [f'class{i}' for i in range(n_cls)]}, f, protocol=2)
    else:
        folder = osp.join(root, 'cifar-100-python')
        os.makedirs(folder, exist_ok=True)
        for fname, n in (('train', per_batch * 5), ('test', n_test)):
            labels = rng.integers(0, n_cls, n)
            entry = {'fine_labels': labels.tolist(), 'coarse_labels': (labels // 5).tolist(),
                     'data': make_images(labels, n_cls, rng)}
            with open(osp.join(folder, fname), 'wb') as f:
                pickle.dump(entry, f, protocol=2)
        with open(osp.join(folder, 'meta'), 'wb') as f:
            pickle.dump({'fine_label_names': [f'c{i}' for i in range(n_cls)],
                         'coarse_label_names': [f'g{i}' for i in range(20)]}, f, protocol=2)
    return root


def snapshot(*roots):
    """Every folder and file under ``roots``: files with size, mtime and sha256."""
    state = {}
    for root in roots:
        for dirpath, _, filenames in os.walk(root):
            state[dirpath] = 'dir'
            for name in filenames:
                path = osp.join(dirpath, name)
                st = os.lstat(path)
                with open(path, 'rb') as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
                state[path] = (st.st_size, st.st_mtime_ns, digest)
    return state


def _add(tar, name, data=b'x', **attrs):
    info = tarfile.TarInfo(name)
    for key, value in attrs.items():
        setattr(info, key, value)
    info.size = len(data) if info.isfile() else 0
    tar.addfile(info, io.BytesIO(data) if info.isfile() else None)


def dotdot_tar(tmp, data):
    path = tmp / 'evil.tar'
    with tarfile.open(path, 'w') as tar:
        _add(tar, 'cifar-10-batches-py/batches.meta')
        _add(tar, 'cifar-10-batches-py/../../escaped.txt', b'outside')
    return path


def symlink_tar(tmp, data):
    path = tmp / 'link.tar'
    with tarfile.open(path, 'w') as tar:
        _add(tar, 'cifar-10-batches-py/data_batch_1', type=tarfile.SYMTYPE,
             linkname='../../escaped.txt')
        _add(tar, 'cifar-10-batches-py/data_batch_1', b'written through the link')
    return path


# ---------------------------------------------------------------- pickle payloads

class Call:
    """Pickles as ``fn(*args)``: the generic shape of a pickle payload."""

    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args

    def __call__(self, *args):  # pickle wants a callable; only the unpickled one is called
        raise AssertionError('never called before pickling')


def open_payload(marker):
    return Call(open, str(marker), 'w')


# ---------------------------------------------------------------- tool outputs

def png(path):
    with Image.open(path) as img:
        return np.asarray(img.convert('RGB'))


def count_color(image, rgb, tol=12):
    return int((np.abs(image.astype(int) - np.asarray(rgb)).max(-1) <= tol).sum())


def read_csv(path):
    with open(path, newline='') as f:
        return list(csv.DictReader(f))


def markdown_rows(text):
    """Cells of the rows of the first markdown table in ``text`` (header included)."""
    lines = []
    for line in text.splitlines():
        if line.startswith('|'):
            lines.append(line)
        elif lines:
            break
    rows = [[c.strip() for c in ln.strip('|').split('|')] for ln in lines]
    return [rows[0]] + rows[2:]  # skip the alignment row
