"""cifar_plugins.apis.sweep: configs derived for a sweep."""
from mmengine.config import Config

from cifar_plugins.apis.sweep import derive_config

BUDGET = 'configs/_base_/schedules/budget_cpu.py'


def test_override_file_replaces_data_keys_and_keeps_the_model(tmp_path):
    out = derive_config('configs/cifar100/slim_resnet_eca_cifar100.py', BUDGET,
                        str(tmp_path / 'eca.py'),
                        overrides=['configs/_base_/datasets/cifar10_bs128.py'])
    derived = Config.fromfile(out)
    assert derived.train_dataloader.dataset.type == 'VerifiedCIFAR10'
    assert derived.test_dataloader.dataset.type == 'VerifiedCIFAR10'
    assert derived.data_preprocessor.num_classes == 10
    assert derived.model.backbone.attention.type == 'ECA'  # the config's own model
    assert derived.train_cfg.max_epochs == 3  # the schedule still applies
