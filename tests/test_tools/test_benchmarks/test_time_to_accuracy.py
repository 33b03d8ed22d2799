"""tools/benchmarks/time_to_accuracy.py: our run and an airbench log."""
import re

from helpers import python_tool

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
