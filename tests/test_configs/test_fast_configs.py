"""The fast recipes in configs/fast and their metafile."""
import torch

import cifar_plugins  # noqa: F401
from cifar_plugins.registry import MODELS
from helpers import REPO


def test_fast_metafile_lists_every_fast_config_with_its_size():
    import glob
    import os.path as osp

    import yaml
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from cifar_plugins.analysis.complexity import count_macs
    folder = osp.join(REPO, 'configs', 'fast')
    with open(osp.join(folder, 'metafile.yml')) as f:
        meta = yaml.safe_load(f)
    models = meta['Models']
    configs = sorted(osp.basename(m['Config']) for m in models)
    assert configs == sorted(osp.basename(p) for p in glob.glob(osp.join(folder, '*.py')))
    assert len({m['Name'] for m in models}) == len(models)
    collections = {c['Name'] for c in meta['Collections']}
    for entry in models:
        assert entry['In Collection'] in collections
        cfg = Config.fromfile(osp.join(folder, osp.basename(entry['Config'])))
        with DefaultScope.overwrite_default_scope('mmpretrain'):
            model = MODELS.build(cfg.model)
        assert sum(p.numel() for p in model.parameters()) == entry['Metadata']['Parameters']
        assert cfg.train_cfg.max_epochs == entry['Metadata']['Epochs']
        assert cfg.train_dataloader.batch_size == entry['Metadata']['Batch Size']
        macs = count_macs(model.backbone.eval(), (torch.zeros(1, 3, 32, 32),))
        assert abs(macs - entry['Metadata']['FLOPs']) / entry['Metadata']['FLOPs'] < 0.01
