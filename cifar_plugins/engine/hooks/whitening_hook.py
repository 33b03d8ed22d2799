"""Fit whitening convolutions from training images before training starts."""
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from cifar_plugins.models.utils.whitening import WhiteningConv2d
from cifar_plugins.registry import HOOKS


@HOOKS.register_module()
class WhiteningInitHook(Hook):
    """Set every :class:`WhiteningConv2d` of the model from training images.

    Before the first training iteration, the first ``num_images`` images of
    the training set (dataset order, so every run and every rank fits the
    same filters) are normalised by the model's data preprocessor exactly as
    training batches are (no augmentation) and passed to
    :meth:`WhiteningConv2d.fit`. Layers already fitted (a resumed run, or
    ``load_from`` a checkpoint that holds them) are left alone. The layers'
    biases train for the first ``bias_epochs`` epochs only (airbench94: 3).

    Under DDP the bias stops requiring gradients mid-run, so use
    ``model_wrapper_cfg=dict(type='MMDistributedDataParallel',
    find_unused_parameters=True)`` when ``bias_epochs`` is shorter than
    the run (the ``configs/fast`` recipes do).

    Args:
        num_images (int): Training images to fit on. Defaults to 5000.
        bias_epochs (int | None): Epochs during which the bias trains;
            None trains it throughout. Defaults to 3.
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self, num_images=5000, bias_epochs=3):
        self.num_images = num_images
        self.bias_epochs = bias_epochs

    @staticmethod
    def _layers(runner):
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        return model, [
            m for m in model.modules() if isinstance(m, WhiteningConv2d)
        ]

    def _images(self, runner):
        dataset = runner.train_dataloader.dataset
        count = min(self.num_images, len(dataset))
        if hasattr(dataset, '__getitems__'):
            return dataset.__getitems__(list(range(count)))['inputs']
        return torch.stack(
            [torch.as_tensor(dataset[i]['inputs']) for i in range(count)])

    @torch.no_grad()
    def before_train(self, runner):
        model, layers = self._layers(runner)
        todo = [layer for layer in layers if not bool(layer.fitted)]
        if not todo:
            return
        images = self._images(runner)
        normalised = model.data_preprocessor(
            dict(inputs=images), training=False)['inputs']
        for layer in todo:
            eigenvalues = layer.fit(normalised.contiguous())
            runner.logger.info(
                f'Whitening conv fitted on {len(images)} training images: '
                f'patch eigenvalues {eigenvalues.max().item():.3g} .. '
                f'{eigenvalues.min().item():.3g}')

    def before_train_epoch(self, runner):
        if self.bias_epochs is None:
            return
        _, layers = self._layers(runner)
        for layer in layers:
            layer.bias.requires_grad_(runner.epoch < self.bias_epochs)
