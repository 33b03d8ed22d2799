"""tools/benchmarks/runner_vs_raw.py runs and prints what it promises (no timing asserted)."""
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
