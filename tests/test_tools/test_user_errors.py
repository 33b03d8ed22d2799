"""Every user error of every tool is one ``ERROR: ...`` line, exit code 1, and no file changed.

Each case builds a bad input in a fresh folder, snapshots that folder and the
synthetic dataset (sizes, mtimes, sha256), runs the tool, and checks exit
code 1, exactly one non-empty stderr line starting with ``ERROR: `` (Python
warnings are silenced by :func:`helpers.run_tool`), the expected words, and
the same snapshot afterwards.
"""
import os.path as osp
import sys
import tarfile

import pytest

from helpers import run_tool, snapshot, symlink_tar, tiny_options

QUICK = 'configs/fastcifarnet_per_sample_cifar10.py'
PY = sys.executable


def _archive(tmp, data):
    path = tmp / 'cifar-10-python.tar.gz'
    with tarfile.open(path, 'w:gz') as tar:
        tar.add(osp.join(data, 'cifar-10-batches-py'), arcname='cifar-10-batches-py')
    return path


def truncated_tar(tmp, data):
    path = _archive(tmp, data)
    blob = path.read_bytes()
    path.write_bytes(blob[:len(blob) // 2])
    return path


def bad_config(tmp, data):
    path = tmp / 'bad_config.py'
    path.write_text(
        "_base_ = ['../configs/fastcifarnet_per_sample_cifar10.py']\n"
        "model = dict(type='ImageClassifier'\n")  # never closed
    return path


def a_file(tmp, data):
    path = tmp / 'a_file'
    path.write_text('not a folder')
    return path


def empty_dir(tmp, data):
    path = tmp / 'empty'
    path.mkdir()
    return path


def empty_dir_and_checkpoint(tmp, data):
    (tmp / 'model.pth').write_bytes(b'never read: the data is checked first')
    return empty_dir(tmp, data)


def not_an_image(tmp, data):
    path = tmp / 'photo.png'
    path.write_text('this is text, not a PNG')
    (tmp / 'model.pth').write_bytes(b'never read: the image is checked first')
    return path


def train(tmp, data, *options, config=QUICK):
    return [PY, 'tools/train.py', str(config), '--work-dir', str(tmp / 'work'),
            '--cfg-options', *tiny_options(data), *options]


# id: (make the bad input -> path, command for (tmp, data, path), words of the ERROR line)
CASES = {
    'train-config-syntax-error': (
        bad_config, lambda t, d, p: [PY, 'tools/train.py', str(p), '--work-dir', str(t / 'w')],
        ['bad_config.py line 2: syntax error', 'never closed']),
    'train-cfg-option-without-equals': (
        None, lambda t, d, p: [PY, 'tools/train.py', QUICK, '--cfg-options', 'foo'],
        ['argument --cfg-options: expected KEY=VALUE', "got 'foo'"]),
    'train-unknown-backbone-argument': (
        None, lambda t, d, p: train(t, d, 'model.backbone.foo=1'),
        ["type='FastCIFARNet'", "unexpected keyword argument 'foo'"]),
    'train-option-into-an-int': (
        None, lambda t, d, p: train(t, d, 'model.head.num_classes.x=1'),
        ['model.head.num_classes is int 10, not a dict', "no key 'x'"]),
    'train-negative-batch-size': (
        None, lambda t, d, p: train(t, d, 'train_dataloader.batch_size=-1'),
        ['train_dataloader.batch_size must be a positive integer, got -1']),
    'train-data-root-is-a-file': (
        a_file, lambda t, d, p: train(t, d, f'train_dataloader.dataset.data_root={p}',
                                      'train_dataloader.dataset.download=True'),
        ['train_dataloader.dataset.data_root', 'a_file is a file, not a folder']),
    'train-data-root-is-empty': (
        empty_dir, lambda t, d, p: train(t, d, f'val_dataloader.dataset.data_root={p}'),
        ['cifar10 not found', 'empty is an empty folder', 'tools/prepare_cifar.py cifar10']),
    'test-data-root-is-empty': (
        empty_dir_and_checkpoint, lambda t, d, p: [PY, 'tools/test.py', QUICK,
                                                   str(t / 'model.pth'),
                                    '--work-dir', str(t / 'work'), '--cfg-options',
                                    *tiny_options(p)],
        ['cifar10 not found', 'empty is an empty folder']),
    'infer-not-an-image': (
        not_an_image, lambda t, d, p: [PY, 'tools/infer.py', str(p), '--checkpoint',
                                       str(t / 'model.pth')],
        ['cannot read', 'photo.png as an image', 'give PNG or JPEG files']),
    'prepare-truncated-archive': (
        truncated_tar, lambda t, d, p: [PY, 'tools/prepare_cifar.py', 'cifar10', '--src',
                                        str(p), '--data-root', str(t / 'dest' / 'cifar10')],
        ['cifar-10-python.tar.gz is truncated or corrupt', 'copy or download it again']),
    'prepare-archive-with-symlink': (
        symlink_tar, lambda t, d, p: [PY, 'tools/prepare_cifar.py', 'cifar10', '--src', str(p),
                                      '--data-root', str(t / 'dest' / 'cifar10')],
        ['link.tar holds a link', 'refusing to extract']),
    'eval-checkpoint-cfg-option-without-equals': (
        None, lambda t, d, p: [PY, 'tools/analysis/eval_checkpoint.py', QUICK, 'x.pth',
                               '--cfg-options', 'test_dataloader.batch_size'],
        ['expected KEY=VALUE', "got 'test_dataloader.batch_size'"]),
    'plot-curves-not-a-run': (
        empty_dir, lambda t, d, p: [PY, 'tools/analysis/plot_curves.py', str(p)],
        ['is not an mmengine run directory', '--work-dir of a training run']),
    'make-report-not-a-run': (
        empty_dir, lambda t, d, p: [PY, 'tools/analysis/make_report.py', str(p),
                                    '--out', str(t / 'report' / 'REPORT.md')],
        ['is not an mmengine run directory']),
    'complexity-config-syntax-error': (
        bad_config, lambda t, d, p: [PY, 'tools/analysis/complexity.py', str(p),
                                     '--out-dir', str(t / 'out')],
        ['bad_config.py does not build', 'syntax error']),
    'sweep-config-syntax-error': (
        bad_config, lambda t, d, p: [PY, 'tools/sweep.py', QUICK, str(p),
                                     '--work-root', str(t / 'sweep')],
        ['bad_config.py line 2: syntax error']),
}


def assert_one_error_line(out, words):
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert out.returncode == 1, (out.returncode, out.stderr[-3000:])
    assert len(lines) == 1 and lines[0].startswith('ERROR: '), out.stderr[-3000:]
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


@pytest.mark.parametrize('case', list(CASES))
def test_user_error_is_one_line_and_changes_nothing(case, tmp_path, cifar10_root):
    make, command, words = CASES[case]
    path = make(tmp_path, cifar10_root) if make else None
    before = snapshot(tmp_path, cifar10_root)
    out = run_tool(command(tmp_path, cifar10_root, path), timeout=300)
    assert_one_error_line(out, words)
    assert snapshot(tmp_path, cifar10_root) == before
    assert 'Traceback' not in out.stdout + out.stderr


def test_mim_train_missing_data_is_one_line_from_the_plugin(tmp_path, cifar10_root):
    """``mim train`` runs mmpretrain's tools/train.py; the config imports cifar_plugins,
    whose excepthook makes the missing data one ERROR line. mim 0.3.9 itself then
    raises CalledProcessError for any failed training script (its check_call), so its
    own traceback follows that line; nothing of the training script's traceback does."""
    empty = empty_dir(tmp_path, cifar10_root)
    before = snapshot(empty, cifar10_root)
    out = run_tool(['mim', 'train', 'mmpretrain', QUICK, '--gpus', '0', '--work-dir',
                    str(tmp_path / 'work'), '--cfg-options',
                    *tiny_options(str(empty))], timeout=300)
    assert out.returncode == 1
    plugin_part = out.stderr.split('Traceback (most recent call last)')[0]
    lines = [line for line in plugin_part.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith('ERROR: cifar10 not found: data_root '), \
        out.stderr[-3000:]
    assert 'is an empty folder' in lines[0]
    mim_part = out.stderr[len(plugin_part):]
    assert 'CalledProcessError' in mim_part and 'cifar_plugins' not in mim_part
    assert snapshot(empty, cifar10_root) == before
