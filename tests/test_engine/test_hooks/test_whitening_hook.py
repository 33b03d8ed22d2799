"""WhiteningInitHook: fits the whitening stem once from normalised training images."""
import torch

import cifar_plugins  # noqa: F401
from cifar_plugins.datasets import InMemoryBatchDataset
from cifar_plugins.engine.hooks import WhiteningInitHook
from cifar_plugins.models.utils.whitening import WhiteningConv2d
from cifar_plugins.registry import MODELS

MEAN, STD = [125.307, 122.961, 113.8575], [51.5865, 50.847, 51.255]


def cifar(root, split='train', **kwargs):
    return dict(type='VerifiedCIFAR10', data_root=root, split=split, download=False,
                pipeline=[], **kwargs)


class FakeRunner:
    def __init__(self, model, dataset, epoch=0):
        import logging
        self.model, self.epoch = model, epoch
        self.train_dataloader = type('L', (), {'dataset': dataset})()
        self.logger = logging.getLogger('test')


def fast_model(**backbone):
    return MODELS.build(dict(
        type='ImageClassifier',
        data_preprocessor=dict(type='CIFARDataPreprocessor', mean=MEAN, std=STD),
        backbone=dict(type='FastCIFARNet', widths=(8, 16, 16), stem='whitening', **backbone),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=10, in_channels=16)))


def test_whitening_hook_fits_once_from_normalised_training_images(cifar10_root):
    model = fast_model()
    dataset = InMemoryBatchDataset(cifar(cifar10_root))
    hook = WhiteningInitHook(num_images=50, bias_epochs=2)
    hook.before_train(FakeRunner(model, dataset))
    layer = model.backbone.stem[0]
    normalised = (dataset.images[:50].float() - torch.tensor(MEAN).view(1, 3, 1, 1)) \
        / torch.tensor(STD).view(1, 3, 1, 1)
    reference = WhiteningConv2d(3, 2)
    reference.fit(normalised)
    assert torch.allclose(layer.weight, reference.weight, atol=1e-5)
    # fitted state travels in the state dict; a resumed run does not refit
    state = model.state_dict()
    assert bool(state['backbone.stem.0.fitted'])
    fresh = fast_model()
    fresh.load_state_dict(state)
    with torch.no_grad():
        fresh.backbone.stem[0].weight.add_(1.0)
    hook.before_train(FakeRunner(fresh, dataset))
    assert torch.allclose(fresh.backbone.stem[0].weight, layer.weight + 1.0)
    for epoch, trains in ((0, True), (1, True), (2, False), (5, False)):
        hook.before_train_epoch(FakeRunner(model, dataset, epoch))
        assert layer.bias.requires_grad is trains
