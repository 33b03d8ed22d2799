"""cifar_plugins.compat.config_data: the config stored in a checkpoint is parsed as data,
never run."""
import os

import numpy as np
import pytest
import torch
from mmengine.config import Config

import cifar_plugins  # noqa: F401  (installs the safe loaders)
from cifar_plugins.compat import CheckpointLoadError
from cifar_plugins.compat.config_data import config_from_text, parse_config_text
from helpers import REPO, STUDIES, python_tool

HOSTILE_CONFIGS = [
    "import os\nos.system('touch {m}')\n",
    "model = __import__('os').system('touch {m}')\n",
    "model = dict(type=open('{m}', 'w'))\n",
    "model = dict(**{{'a': open('{m}', 'w')}})\n",
    "x = [f() for f in [lambda: open('{m}', 'w')]]\n",
    "model = dict()\nopen('{m}', 'w')\n",
    "model = (lambda: open('{m}', 'w'))()\n",
    "model = ''.join\n",
    "model.head = 1\n",
    "model = dict(\n",
]


@pytest.mark.parametrize('template', HOSTILE_CONFIGS)
def test_stored_config_is_parsed_as_data_never_run(tmp_path, template):
    marker = tmp_path / 'pwned'
    text = template.format(m=marker)
    if '__import__' in template:  # control: executing it as mmengine would runs it
        Config.fromstring(text, '.py')
        assert marker.exists()
        marker.unlink()
    with pytest.raises(CheckpointLoadError, match='--config'):
        config_from_text(text)
    assert not marker.exists()


def test_every_shipped_config_round_trips_through_the_data_parser():
    import glob
    configs = [p for p in sorted(glob.glob(os.path.join(REPO, 'configs', '**', '*.py'),
                                           recursive=True)) if '_base_' not in p and STUDIES not in p]
    assert len(configs) > 50
    for path in configs:
        text = Config.fromfile(path).pretty_text
        assert config_from_text(text).to_dict() == Config.fromstring(text, '.py').to_dict(), path


def test_parse_config_text_values():
    cfg = parse_config_text("a = dict({'x-y': 1}, b=-2.5)\nc = (1, [None, True], {3})\n"
                            "d = inf\ne = 'text'\n")
    assert cfg == {'a': {'x-y': 1, 'b': -2.5}, 'c': (1, [None, True], {3}),
                   'd': float('inf'), 'e': 'text'}


def test_infer_and_init_model_refuse_a_checkpoint_whose_config_runs_code(tmp_path):
    marker = tmp_path / 'pwned'
    ckpt = tmp_path / 'evil_cfg.pth'
    torch.save({'state_dict': {}, 'meta': {
        'cfg': f"import os\nos.system('touch {marker}')\nmodel = dict(type='ImageClassifier')\n"}},
        ckpt)
    from cifar_plugins.apis import init_model
    with pytest.raises(CheckpointLoadError, match='Pass the config file with --config'):
        init_model(None, str(ckpt), device='cpu')
    image = tmp_path / 'img.png'
    from PIL import Image
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(image)
    out = python_tool('tools/infer.py', str(image), '--checkpoint', str(ckpt), timeout=120)
    assert out.returncode == 1
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith('ERROR: Refused the config stored in'), out.stderr[-2000:]
    assert 'Traceback' not in out.stderr
    assert not marker.exists()
