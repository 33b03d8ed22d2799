"""The benchmark scripts run and print what they promise (no timing asserted)."""
import re

from helpers import python_tool


def test_runner_vs_raw_prints_both_loops_and_the_ratio(cifar10_root):
    out = python_tool('tools/benchmarks/runner_vs_raw.py',
                      'configs/fast/quickstart_cifar10.py',
                      'configs/fast/airbench_style_94_muon_cifar10.py',
                      '--data-root', cifar10_root, '--iters', '2', '--warmup', '1',
                      '--repeats', '2', '--cfg-options', 'train_dataloader.batch_size=16',
                      'optim_wrapper.dtype=float32',
                      timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert 'CPU:' in out.stdout
    row = [line for line in out.stdout.splitlines()
           if 'quickstart_cifar10' in line]
    assert len(row) == 1, out.stdout
    fields = row[0].split()
    assert fields[1] == '16' and fields[2] == 'float32'
    runner_ips, raw_ips, ratio = map(float, fields[3:6])
    assert runner_ips > 0 and raw_ips > 0
    assert abs(ratio - runner_ips / raw_ips) < 2e-3
    quick_part = out.stdout.split(row[0])[0]  # the quick config's alternations come first
    alternations = re.findall(r'alternation \d: Runner ([\d.]+) img/s, raw ([\d.]+) img/s',
                              quick_part)
    assert len(alternations) == 2, out.stdout
    means = [sum(float(a[i]) for a in alternations) / 2 for i in (0, 1)]
    assert abs(means[0] - runner_ips) < 0.1 and abs(means[1] - raw_ips) < 0.1
    # a config whose optimizer is the plugin's (MuonSGD with parameter groups) runs in both loops
    muon_row = [line for line in out.stdout.splitlines() if 'airbench_style_94_muon' in line]
    assert len(muon_row) == 1 and float(muon_row[0].split()[5]) > 0, out.stdout


def test_airbench_shim_explains_a_missing_package(tmp_path):
    # an importable "airbench" that fails as a missing one does, whether or not it is installed
    fake = tmp_path / 'shadow' / 'airbench'
    fake.mkdir(parents=True)
    (fake / '__init__.py').write_text("raise ImportError('No module named airbench')\n")
    out = python_tool('tools/benchmarks/airbench_cpu.py', '--work-dir', str(tmp_path / 'run'),
                      timeout=120, env={'PYTHONPATH': str(tmp_path / 'shadow')})
    assert out.returncode == 1, out.stdout[-2000:] + out.stderr[-2000:]
    assert re.search(r'ERROR: airbench is not installed; pip install airbench==0\.1\.8',
                     out.stderr)


FAKE_AIRBENCH_UTILS = """
import torch


class CifarLoader:  # airbench's test loader: the shim's cifar10/test.pt
    def __init__(self, path, train=True, batch_size=500):
        data = torch.load(path + ('/train.pt' if train else '/test.pt'))
        self.images, self.labels = data['images'], data['labels']


def infer(model, loader, tta_level=0):  # a "network" that always answers class 0
    assert model == 'trained net'
    logits = torch.zeros(len(loader.labels), 10)
    logits[:, 0] = 1
    return logits


def evaluate(model, loader, tta_level=0):
    return (infer(model, loader, tta_level).argmax(1) == loader.labels).float().mean().item()
"""
FAKE_AIRBENCH94 = """
import torch


def make_net94(widths):
    return widths


from . import utils


def train94(run=0, epochs=9.9, make_net=None):  # airbench calls utils.evaluate by name
    print(f'train94 run={run} epochs={epochs} net={make_net()}')
    assert torch.Tensor.cuda(torch.ones(1)).device.type == 'cpu'  # the shim is installed
    loader = utils.CifarLoader('cifar10', train=False, batch_size=2000)
    utils.evaluate('trained net', loader, tta_level=0)
    print(f"tta_val_acc {utils.evaluate('trained net', loader, tta_level=2):.4f}")
    return 'trained net'
"""


def test_airbench_shim_passes_settings_and_splits_the_test_set(cifar10_root, tmp_path):
    import numpy as np

    from cifar_plugins.datasets import load_split
    fake = tmp_path / 'shadow' / 'airbench'
    fake.mkdir(parents=True)
    (fake / '__init__.py').write_text("__version__ = 'fake'\n")
    (fake / 'utils.py').write_text(FAKE_AIRBENCH_UTILS)
    (fake / 'lib_airbench94.py').write_text(FAKE_AIRBENCH94)
    labels = np.asarray(load_split(cifar10_root, 'cifar10', 'test')[1])
    exact = np.zeros(len(labels), bool)
    exact[::3] = True
    np.savez(tmp_path / 'labels.npz', test_lossless=exact)
    out = python_tool('tools/benchmarks/airbench_cpu.py', '--data-root', cifar10_root,
                      '--work-dir', str(tmp_path / 'run'), '--epochs', '0.5',
                      '--widths', '8', '16', '32', '--lossless', str(tmp_path / 'labels.npz'),
                      timeout=120, env={'PYTHONPATH': str(tmp_path / 'shadow')})
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert "train94 run=0 epochs=0.5 net={'block1': 8, 'block2': 16, 'block3': 32}" in out.stdout
    zero = labels == 0
    expected = (f'run 0: with TTA: exact images ({exact.sum()}): '
                f'{100 * zero[exact].mean():.2f}%, JPEG-decoded ({(~exact).sum()}): '
                f'{100 * zero[~exact].mean():.2f}%, all: {100 * zero.mean():.2f}%')
    assert expected in out.stdout, out.stdout
    assert f'tta_val_acc {zero.mean():.4f}' in out.stdout  # airbench's own figure unchanged
    assert 0 < zero[exact].mean() < 1  # the split is not trivially 0 or 100


def test_exact_subset_accuracy_splits_the_test_set(cifar10_root, tmp_path):
    import numpy as np
    import torch
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from cifar_plugins.datasets import load_split
    from cifar_plugins.registry import MODELS
    config = 'configs/fast/quickstart_cifar10.py'
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(Config.fromfile(config).model)
    ckpt = tmp_path / 'model.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    labels = load_split(cifar10_root, 'cifar10', 'test')[1]
    exact = np.zeros(len(labels), bool)
    exact[1::4] = True  # scattered, so taking the first n images would not pass
    np.savez(tmp_path / 'labels.npz', test_lossless=exact)
    out = python_tool('tools/benchmarks/exact_subset_accuracy.py', config, str(ckpt),
                      '--data-root', cifar10_root, '--lossless', str(tmp_path / 'labels.npz'),
                      timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    found = re.search(r'without TTA: exact images \((\d+)\): ([\d.]+)%, JPEG-decoded \((\d+)\): '
                      r'([\d.]+)%, all: ([\d.]+)%', out.stdout)
    assert found, out.stdout
    n_exact, acc_exact, n_jpeg, acc_jpeg, acc_all = map(float, found.groups())
    assert (n_exact, n_jpeg) == (exact.sum(), (~exact).sum())
    assert abs(acc_all - (n_exact * acc_exact + n_jpeg * acc_jpeg) / len(labels)) < 0.01
    only = python_tool('tools/benchmarks/exact_subset_accuracy.py', config, str(ckpt),
                       '--data-root', cifar10_root, '--lossless', str(tmp_path / 'labels.npz'),
                       '--exact-only', timeout=300)
    assert only.returncode == 0, only.stderr[-3000:]
    assert only.stdout.strip().endswith(
        f'without TTA: exact images ({int(n_exact)}): {acc_exact:.2f}%'), only.stdout


AIRBENCH_LOG = """\
airbench 0.1.8 airbench94 on CPU, float32, 2 threads, published settings, CPU: Some CPU (family 1 model 2, AVX2),
------------------------------------------------------------------------------------------------------
|  run     |  epoch  |  train_loss  |  train_acc  |  val_acc  |  tta_val_acc  |  total_time_seconds  |
------------------------------------------------------------------------------------------------------
|       0  |      0  |      1.4293  |     0.7158  |   0.6156  |               |            466.8959  |
|          |      9  |      0.6000  |     0.9600  |   0.9300  |               |           4950.0000  |
------------------------------------------------------------------------------------------------------
|          |   eval  |      0.6000  |     0.9600  |   0.9300  |       0.9350  |           5130.0000  |
------------------------------------------------------------------------------------------------------
run 0: wall 5200 s (incl. per-epoch evals)
run 0: with TTA: exact images (1000): 94.20%, JPEG-decoded (9000): 86.10%, all: 86.91%
"""


def test_time_to_accuracy_tests_our_run_and_reads_the_airbench_log(
        cifar10_root, tmp_path, tmp_path_factory):
    import numpy as np

    from tiny_runs import TRAINED_EPOCHS, trained_run

    from cifar_plugins.analysis.run_logs import find_checkpoint, load_run
    from cifar_plugins.datasets import load_split
    run_dir = trained_run(tmp_path_factory, cifar10_root)
    log = tmp_path / 'airbench.log'
    log.write_text(AIRBENCH_LOG)
    labels = load_split(cifar10_root, 'cifar10', 'test')[1]
    exact = np.zeros(len(labels), bool)
    exact[::5] = True
    np.savez(tmp_path / 'labels.npz', test_lossless=exact)
    out = python_tool('tools/benchmarks/time_to_accuracy.py', '--run', run_dir,
                      '--airbench-log', str(log), '--data-root', cifar10_root,
                      '--lossless', str(tmp_path / 'labels.npz'), timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert any(line.startswith('CPU: ') for line in out.stdout.splitlines())
    rows = [line.split(' | ') for line in out.stdout.splitlines()
            if line.startswith('| ') and '---' not in line][1:]
    assert len(rows) == 2, out.stdout
    theirs, ours = rows
    # airbench: training = its last epoch row, test = the TTA row minus that
    assert theirs[0] == '| published airbench94 (0.1.8) (log from Some CPU (family 1 model 2, AVX2))'
    assert theirs[1:4] == ['9.9', '0', f'{9.9 * 50000 / 4950:.1f}']
    assert theirs[4:6] == ['93.50%', '94.20%']
    assert theirs[6] == '82 min 30 s + 3 min 00 s = 85 min 30 s |'
    # ours: the last checkpoint tested here with TTA, as exact_subset_accuracy.py --tta does
    ckpt = find_checkpoint(run_dir, 'last')
    split = python_tool('tools/benchmarks/exact_subset_accuracy.py', load_run(run_dir).config_path,
                        ckpt, '--tta', '--data-root', cifar10_root,
                        '--lossless', str(tmp_path / 'labels.npz'), timeout=300)
    assert split.returncode == 0, split.stderr[-3000:]
    found = re.search(r'exact images \(\d+\): ([\d.]+)%, .*all: ([\d.]+)%', split.stdout)
    assert ours[4:6] == [f'{float(found.group(2)):.2f}%', f'{float(found.group(1)):.2f}%']
    wall = load_run(run_dir).wall_time
    assert ours[1] == str(TRAINED_EPOCHS)
    assert ours[3] == f'{TRAINED_EPOCHS * 50000 / wall:.1f}'


def test_time_to_accuracy_refuses_what_is_not_a_run(tmp_path):
    out = python_tool('tools/benchmarks/time_to_accuracy.py', '--airbench-log',
                      str(tmp_path / 'missing.log'), timeout=120)
    assert out.returncode == 1
    assert out.stderr.strip().splitlines()[-1].startswith('ERROR: no airbench log')
    bad = tmp_path / 'bad.log'
    bad.write_text('not airbench output\n')
    out = python_tool('tools/benchmarks/time_to_accuracy.py', '--airbench-log', str(bad),
                      timeout=120)
    assert out.returncode == 1
    assert out.stderr.strip().splitlines()[-1].startswith('ERROR: ')
