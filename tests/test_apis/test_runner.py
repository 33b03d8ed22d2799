"""cifar_plugins.apis.runner: config checks and building a Runner."""
import os.path as osp
import time

import pytest
from mmengine.config import Config

import cifar_plugins  # noqa: F401
from cifar_plugins.apis import ConfigError, check_num_classes
from helpers import REPO, snapshot, tiny_options


def test_mismatched_num_classes_is_caught():
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'resnet18_cifar10.py'))
    cfg.train_dataloader.dataset.type = 'VerifiedCIFAR100'
    with pytest.raises(ConfigError, match='model.head.num_classes=10.*VerifiedCIFAR100.*=100'):
        check_num_classes(cfg)


QUICK = 'configs/fastcifarnet_per_sample_cifar10.py'


def used_work_dir(tmp, data):
    """A work dir that already holds a run's files, which a failed start must keep."""
    work = tmp / 'work'
    (work / '20200101_000000').mkdir(parents=True)
    (work / '20200101_000000' / '20200101_000000.log').write_text('old log')
    (work / 'epoch_1.pth').write_bytes(b'old checkpoint')
    return work


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
