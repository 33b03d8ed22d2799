"""Every user error of every tool is one ``ERROR: ...`` line, exit code 1, and no file changed.

Each case builds a bad input in a fresh folder, snapshots that folder and the
synthetic dataset (sizes, mtimes, sha256), runs the tool, and checks exit
code 1, exactly one non-empty stderr line starting with ``ERROR: `` (Python
warnings are silenced by :func:`helpers.run_tool`), the expected words, and
the same snapshot afterwards.
"""
import hashlib
import io
import os
import os.path as osp
import sys
import tarfile
import time

import pytest

from helpers import run_tool, tiny_options

QUICK = 'configs/fastcifarnet_per_sample_cifar10.py'
PY = sys.executable


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


def used_work_dir(tmp, data):
    """A work dir that already holds a run's files, which a failed start must keep."""
    work = tmp / 'work'
    (work / '20200101_000000').mkdir(parents=True)
    (work / '20200101_000000' / '20200101_000000.log').write_text('old log')
    (work / 'epoch_1.pth').write_bytes(b'old checkpoint')
    return work


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


def without_extraction_filters(monkeypatch):
    """Make ``tarfile`` look like Python < 3.11.4 (Debian 12's 3.11.2): no ``filter=``."""
    import tarfile
    monkeypatch.delattr(tarfile, 'data_filter')
    real_extractall = tarfile.TarFile.extractall

    def old_extractall(self, path='.', members=None, *, numeric_owner=False):
        return real_extractall(self, path, members, numeric_owner=numeric_owner)

    monkeypatch.setattr(tarfile.TarFile, 'extractall', old_extractall)


@pytest.mark.parametrize('filters', ['tarfile filters', 'no tarfile filters'])
def test_unsafe_archives_write_nothing_outside_the_destination(tmp_path, cifar10_root,
                                                               monkeypatch, filters):
    """Archives with a ``../`` member or a symlink are refused; the file their members aim
    at is never written, and no destination or temporary folder is left. On Pythons
    without extraction filters every member is checked before anything is written."""
    if filters == 'no tarfile filters':
        without_extraction_filters(monkeypatch)
    for make in (dotdot_tar, symlink_tar):
        case = tmp_path / make.__name__
        case.mkdir()
        src = make(case, cifar10_root)
        from cifar_plugins.datasets import CIFARDataError
        from cifar_plugins.datasets.prepare import prepare
        with pytest.raises(CIFARDataError, match='refusing to extract'):
            prepare('cifar10', str(src), str(case / 'dest' / 'cifar10'))
        assert sorted(os.listdir(case)) == [src.name]  # no dest/, no escaped.txt
        assert not osp.exists(tmp_path / 'escaped.txt')


# ---- the classifier itself: user errors are words, programming errors stay tracebacks

def test_programming_errors_are_not_user_errors():
    from cifar_plugins.errors import ConfigError, user_error_message

    class Broken:
        def __init__(self, depth):
            len(depth)  # a bug inside the constructor: not a bad config key

    from mmengine.registry import Registry
    registry = Registry('demo')
    registry.register_module(module=Broken)
    for call in (lambda: registry.build(dict(type='Broken', depth=3)),
                 lambda: {}['key'], lambda: 1 / 0, lambda: int('x')):
        with pytest.raises(Exception) as err:
            call()
        assert user_error_message(err.value) is None, err.value
    with pytest.raises(TypeError) as err:
        registry.build(dict(type='Broken', depth=3, width=2))
    assert "unexpected keyword argument 'width'" in user_error_message(err.value)
    assert user_error_message(ConfigError('two\nlines')) == 'two lines'


def test_excepthook_and_runner_keep_tracebacks_of_bugs(monkeypatch, capsys):
    import cifar_plugins  # noqa: F401  (installs the hook)
    from cifar_plugins import errors
    from cifar_plugins.apis.runner import run_with_clear_errors
    assert sys.excepthook is errors._excepthook
    seen = []
    monkeypatch.setattr(errors._excepthook, 'previous', lambda *exc: seen.append(exc[0]))
    errors._excepthook(errors.ConfigError, errors.ConfigError('fix the key'), None)
    errors._excepthook(ZeroDivisionError, ZeroDivisionError('bug'), None)
    assert capsys.readouterr().err == 'ERROR: fix the key\n' and seen == [ZeroDivisionError]

    def user_error():
        raise errors.UsageError('say it in one line')
    with pytest.raises(SystemExit) as exit_info:
        run_with_clear_errors(user_error)
    assert exit_info.value.code == 'ERROR: say it in one line'
    with pytest.raises(ZeroDivisionError):
        run_with_clear_errors(lambda: 1 / 0)
    monkeypatch.setenv(errors.TRACEBACK_ENV, '1')
    with pytest.raises(errors.UsageError):
        run_with_clear_errors(user_error)


def test_build_runner_undoes_its_log_folder_only(tmp_path, cifar10_root):
    """A Runner that fails to build (unknown type) leaves an existing work dir as it was."""
    from mmengine.config import Config

    from cifar_plugins.apis.runner import build_runner, merge_cfg_options
    work = used_work_dir(tmp_path, cifar10_root)
    from cifar_plugins.errors import ArgumentParser, DictAction
    parser = ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    options = parser.parse_args(['--cfg-options', *tiny_options(cifar10_root)]).cfg_options
    cfg = merge_cfg_options(Config.fromfile(QUICK), options)
    cfg.model.backbone.type = 'NoSuchNet'
    cfg.work_dir = str(work)
    before = snapshot(tmp_path)
    with pytest.raises(KeyError, match='NoSuchNet'):
        build_runner(cfg, splits=('train', 'val'))
    assert snapshot(tmp_path) == before
    # mmengine names a run's logger/visualizer instances by the second it starts; a second
    # Runner in the same second would reuse the first one's (and write into its folder)
    time.sleep(1.1)
    cfg.work_dir = str(tmp_path / 'new' / 'work')
    with pytest.raises(KeyError, match='NoSuchNet'):
        build_runner(cfg, splits=('train', 'val'))
    assert snapshot(tmp_path) == before  # the work dir it created is gone again


def test_dataloader_settings_torch_refuses_are_user_errors(cifar10_root):
    """Checked up front for the splits a run builds; torch's own refusal (the path of
    mmpretrain's tools behind mim) is classified as a user error too."""
    from mmengine.config import Config
    from mmengine.runner import Runner

    from cifar_plugins.apis.runner import check_config
    from cifar_plugins.datasets import VerifiedCIFAR10
    from cifar_plugins.errors import ConfigError, user_error_message
    cfg = Config.fromfile(QUICK)
    cfg.test_dataloader = dict(cfg.test_dataloader, num_workers=0, persistent_workers=True)
    check_config(cfg, splits=('train',))  # the test loader is not built: not checked
    with pytest.raises(ConfigError, match='test_dataloader.persistent_workers=True needs'):
        check_config(cfg, splits=('test',))
    dataset = VerifiedCIFAR10(data_root=cifar10_root, split='test', download=False,
                              pipeline=[])
    for bad in (dict(num_workers=0, persistent_workers=True), dict(batch_size=-1)):
        loader = dict(dict(batch_size=4, num_workers=0, dataset=dataset,
                           sampler=dict(type='DefaultSampler', shuffle=False)), **bad)
        with pytest.raises(ValueError) as err:
            Runner.build_dataloader(loader)
        assert user_error_message(err.value).startswith('invalid dataloader settings')


def test_good_archive_extracts_with_safe_modes_on_pythons_without_extraction_filters(
        tmp_path, cifar10_root, monkeypatch):
    """Without ``filter=`` the members keep their content but lose set-uid and
    group / world write bits, as tarfile's ``data`` filter would do."""
    import tarfile

    from cifar_plugins.datasets.prepare import _extract
    without_extraction_filters(monkeypatch)
    good = tmp_path / 'good.tar'
    with tarfile.open(good, 'w') as tar:
        def setuid(info):
            info.mode |= 0o4777 if info.isfile() else 0o777
            return info
        tar.add(osp.join(cifar10_root, 'cifar-10-batches-py'), arcname='cifar-10-batches-py',
                filter=setuid)
    _extract(str(good), str(tmp_path / 'ok'))  # (the synthetic set is too small for prepare)
    extracted = tmp_path / 'ok' / 'cifar-10-batches-py' / 'data_batch_1'
    assert extracted.read_bytes() == open(osp.join(cifar10_root, 'cifar-10-batches-py',
                                                   'data_batch_1'), 'rb').read()
    assert os.stat(extracted).st_mode & 0o7022 == 0  # no set-uid, no group/world write
