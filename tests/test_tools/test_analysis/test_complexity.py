"""tools/analysis/complexity.py: params, GMACs, timing columns, errors, --append."""
import csv
import importlib.util
import os.path as osp

import pytest
from mmengine.config import Config

import cifar_plugins  # noqa: F401
from cifar_plugins.registry import MODELS
from helpers import REPO, python_tool

TOOL = 'tools/analysis/complexity.py'
COLUMNS = ['config', 'input_size', 'batch_size', 'params_M', 'GMACs',
           'throughput_samples_per_s', 'latency_us_per_sample', 'latency_std_us', 'device',
           'command']
RUNTIME = "custom_imports = dict(imports=['cifar_plugins'], allow_failed_imports=False)\n"

PLAIN = RUNTIME + """
model = dict(type='ImageClassifier',
             backbone=dict(type='PlainResNet_CIFAR', depth=18, stem_channels=8, base_channels=8),
             neck=dict(type='GlobalAveragePooling'),
             head=dict(type='LinearClsHead', num_classes=10, in_channels=64))
"""
VIT = RUNTIME + """
input_size = 16
model = dict(type='ImageClassifier',
             backbone=dict(type='ConvStemViT', img_size=16, stem_channels=(8, ),
                           stem_strides=(2, ), embed_dims=32, num_layers=2, num_heads=2),
             neck=None,
             head=dict(type='LinearClsHead', num_classes=10, in_channels=32))
"""
BROKEN = RUNTIME + "model = dict(type='ImageClassifier', backbone=dict(type='NoSuchNet'))\n"


def plain_macs():
    """Conv MACs of the 8-wide plain ResNet18 at 32x32, plus the classifier."""
    widths, res, cin = (8, 16, 32, 64), 32, 8
    macs = 9 * 3 * 8 * res * res
    for stage, w in enumerate(widths):
        if stage:
            res //= 2
        for block in range(2):
            macs += 9 * (cin if block == 0 else w) * w * res * res + 9 * w * w * res * res
        cin = w
    return macs + 64 * 10


def vit_macs():
    """Stem conv + 1x1 projection, per-layer linears and attention matmuls, pooling, head."""
    tokens, c, mlp = 8 * 8, 32, 64
    stem = 9 * 3 * 8 * tokens + 8 * c * tokens  # stride-2 conv: 8x8 outputs
    linears = tokens * (4 * c * c + 2 * c * mlp)
    attention = 2 * tokens * tokens * c  # Q K^T and attention x V
    pooling = 2 * tokens * c  # token scores + weighted sum
    return stem + 2 * (linears + attention) + pooling + 10 * c


def n_params(path):
    model = MODELS.build(Config.fromfile(path).model)
    return sum(p.numel() for p in model.parameters())


def read_rows(path):
    with open(path, newline='') as f:
        reader = csv.DictReader(f)
        return reader.fieldnames, list(reader)


@pytest.fixture(scope='module')
def configs(tmp_path_factory):
    folder = tmp_path_factory.mktemp('complexity_cfgs')
    paths = {}
    for name, text in (('tiny_plain', PLAIN), ('tiny_vit', VIT), ('broken', BROKEN)):
        paths[name] = str(folder / f'{name}.py')
        with open(paths[name], 'w') as f:
            f.write(text)
    return paths


def load_tool():
    spec = importlib.util.spec_from_file_location('complexity_tool', osp.join(REPO, TOOL))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_table_columns_params_macs_and_broken_config(configs, tmp_path):
    out = python_tool(TOOL, configs['tiny_plain'], configs['broken'], configs['tiny_vit'],
                      '--batch-size', '4', '--warmup', '1', '--runs', '3', '--out-dir',
                      str(tmp_path))
    assert out.returncode == 1  # the broken config fails, the others are still measured
    assert f"ERROR: {configs['broken']} does not build" in out.stderr
    assert 'NoSuchNet' in out.stderr
    columns, rows = read_rows(tmp_path / 'complexity.csv')
    assert columns == COLUMNS
    assert [r['config'] for r in rows] == ['tiny_plain', 'tiny_vit']
    plain, vit = rows
    assert round(float(plain['params_M']) * 1e6) == n_params(configs['tiny_plain'])
    assert round(float(vit['params_M']) * 1e6) == n_params(configs['tiny_vit'])
    # per image, in MACs (not FLOPs = 2 x MACs), attention included (a third of the
    # ViT's MACs); FlopAnalyzer adds a few % elementwise counts for BN and LayerNorm
    assert float(plain['GMACs']) * 1e9 == pytest.approx(plain_macs(), rel=0.03)
    assert float(vit['GMACs']) * 1e9 == pytest.approx(vit_macs(), rel=0.05)
    assert (plain['input_size'], vit['input_size'], vit['batch_size']) == ('32', '16', '4')
    for row in rows:
        throughput = float(row['throughput_samples_per_s'])
        latency = float(row['latency_us_per_sample'])
        assert throughput > 0 and latency * throughput == pytest.approx(1e6, rel=0.01)
        assert 'thread' in row['device'] and '--batch-size 4' in row['command']
    table = (tmp_path / 'complexity.md').read_text()
    assert table.startswith('| config | input | batch | params (M) | GMACs |')
    assert '| tiny_vit | 16x16 | 4 |' in table and table in out.stdout


def test_append_adds_rows_under_another_name(configs, tmp_path):
    tool = load_tool()
    common = ['--warmup', '0', '--runs', '1', '--out-dir', str(tmp_path), '--name', 'table']
    assert tool.main([configs['tiny_plain'], '--batch-size', '2'] + common) == 0
    assert tool.main([configs['tiny_plain'], '--batch-size', '1', '--append'] + common) == 0
    _, rows = read_rows(tmp_path / 'table.csv')
    assert [(r['config'], r['batch_size']) for r in rows] == [('tiny_plain', '2'),
                                                              ('tiny_plain', '1')]
    assert (tmp_path / 'table.md').read_text().count('| tiny_plain |') == 2
    assert not osp.exists(tmp_path / 'complexity.csv')
    with pytest.raises(SystemExit):
        tool.parse_args([configs['tiny_plain'], '--out-dir', str(tmp_path), '--runs', '0'])


def test_steal_share_from_proc_stat_readings(tmp_path, monkeypatch):
    from cifar_plugins.analysis import complexity
    stat = tmp_path / 'stat'
    real_open = open

    def fake_open(path, *args, **kwargs):
        return real_open(stat if path == '/proc/stat' else path, *args, **kwargs)

    monkeypatch.setattr('builtins.open', fake_open)
    stat.write_text('cpu  100 0 50 800 0 0 0 50 0 0\ncpu0 1 2 3\n')
    before = complexity.cpu_ticks()
    assert before == (50, 1000)
    stat.write_text('cpu  400 0 100 1000 0 0 0 500 0 0\n')
    after = complexity.cpu_ticks()
    assert complexity.steal_share(before, after) == 0.45  # 450 of 1000 new ticks
    assert complexity.steal_share(after, before) is None
    stat.write_text('garbage\n')
    assert complexity.cpu_ticks() is None


@pytest.mark.parametrize('cpuinfo, expected', [
    ('processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 17\n'
     'model name\t: AMD EPYC\nflags\t\t: fpu sse2 avx avx2 avx512f avx512_bf16\n\n'
     'processor\t: 1\ncpu family\t: 99\nmodel name\t: other\n',
     'AMD EPYC (family 25 model 17, AVX512-BF16)'),
    ('cpu family\t: 25\nmodel\t\t: 1\nmodel name\t: AMD EPYC\nflags\t\t: fma avx avx2\n',
     'AMD EPYC (family 25 model 1, AVX2)'),
    ('cpu family\t: 6\nmodel\t\t: 143\nmodel name\t: Intel(R) Xeon(R) Processor\n'
     'flags\t\t: avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n',
     'Intel(R) Xeon(R) Processor (family 6 model 143, AMX)'),
    ('model name\t: ARMv8 Processor\nFeatures\t: fp asimd\n', 'ARMv8 Processor (NEON)'),
])
def test_cpu_name_tells_generations_and_isa_apart(tmp_path, monkeypatch, cpuinfo, expected):
    from cifar_plugins.analysis import complexity
    info = tmp_path / 'cpuinfo'
    info.write_text(cpuinfo)
    real_open = open

    def fake_open(path, *args, **kwargs):
        return real_open(info if path == '/proc/cpuinfo' else path, *args, **kwargs)

    monkeypatch.setattr('builtins.open', fake_open)
    assert complexity.cpu_name() == expected
    info.write_text('processor\t: 0\n')
    monkeypatch.setattr(complexity.platform, 'processor', lambda: 'x86_64-fallback')
    assert complexity.cpu_name() == 'x86_64-fallback'
