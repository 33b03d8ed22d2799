"""Batch-level test-time augmentation: mirror and 1-pixel translations on
tensors."""
import torch
import torch.nn.functional as F
from mmengine.model import BaseTTAModel

from cifar_plugins.registry import MODELS

__all__ = ['BatchFlipTranslateTTA', 'flip_translate_views']


def flip_translate_views(inputs, level=2, shift=1, translate_weight=0.5):
    """The views of a batch and their weights in the average.

    Args:
        inputs (torch.Tensor): Batch of shape (B, C, H, W).
        level (int): 0: the batch itself; 1: the batch and its horizontal
            mirror (weight 1/2 each); 2: in addition the batch translated by
            ``shift`` pixels along both axes in the two diagonal directions
            (reflect padding), each with its mirror. Defaults to 2.
        shift (int): Translation in pixels for level 2. Defaults to 1.
        translate_weight (float): Level 2 only: total weight of the four
            translated views; the un-translated pair shares the rest.
            Defaults to 0.5 (airbench94: 1/4 for the batch and its mirror,
            1/8 for each translated view).

    Returns:
        list[tuple[torch.Tensor, float]]: ``(view, weight)`` pairs; the
        weights sum to 1. A view translated "by +s" holds
        ``view[..., i, j] = inputs[..., i - s, j - s]`` (content moved
        down-right), "by -s" ``inputs[..., i + s, j + s]``, with the rows and
        columns beyond the border reflected (``F.pad(mode='reflect')``).

    Raises:
        ValueError: ``level`` is not 0, 1 or 2, or the weights are invalid.
    """
    if level not in (0, 1, 2):
        raise ValueError(
            f'level must be 0 (identity), 1 (mirror) or 2 (mirror + '
            f'translate), got {level!r}')
    if level == 0:
        return [(inputs, 1.0)]

    def mirror_pair(x, weight):
        return [(x, weight / 2), (x.flip(-1), weight / 2)]

    if level == 1:
        return mirror_pair(inputs, 1.0)
    if not 0.0 <= translate_weight <= 1.0:
        raise ValueError(
            f'translate_weight must be in [0, 1], got {translate_weight!r}')
    if shift < 1:
        raise ValueError(
            f'shift must be a positive number of pixels, got {shift!r}')
    height, width = inputs.shape[-2:]
    padded = F.pad(inputs, (shift, shift, shift, shift), mode='reflect')
    down_right = padded[..., :height, :width]  # content moved by +shift
    up_left = padded[..., 2 * shift:, 2 * shift:]  # content moved by -shift
    views = mirror_pair(inputs, 1.0 - translate_weight)
    views += mirror_pair(down_right, translate_weight / 2)
    views += mirror_pair(up_left, translate_weight / 2)
    return views


# the wrapper --tta uses when a config has no ``tta_model``
DEFAULT_TTA_MODEL = dict(type='BatchFlipTranslateTTA')


@MODELS.register_module()
class BatchFlipTranslateTTA(BaseTTAModel):
    """Test-time augmentation of whole batches: mirror and 1-pixel
    translations.

    For ``--tta`` in ``tools/test.py`` (ours or mmpretrain's) and
    ``mim test``: those build ``dict(**cfg.tta_model, module=cfg.model)``. The
    dataset pipeline stays as it is (one view per image, e.g. packed uint8
    batches of ``InMemoryBatchDataset``); the views are made here on the
    normalised batch tensor after the wrapped model's data preprocessor has
    run once, so there is no per-sample Python per view. The classifier's
    logits on the views are averaged with weights and turned into
    ``pred_score``/``pred_label`` by the wrapped head's own
    ``_get_predictions``, i.e. exactly as its ``predict`` would.

    The scheme (mirror, then reflect-padded 1-pixel diagonal translations,
    weights 1/4 + 1/4 for the batch and its mirror and 1/8 for each of the
    four translated views) is that of Keller Jordan's airbench
    (``infer_mirror_translate`` in airbench94.py,
    https://github.com/KellerJordan/cifar10-airbench).

    Subclassing mmengine's ``BaseTTAModel`` lets checkpoints of the plain
    model load into ``self.module`` (mmengine unwraps such models when
    loading); its per-sample merging (``merge_preds``) is not used.

    Args:
        module (dict | nn.Module): The classifier, e.g. an ``ImageClassifier``
            with a head that has ``_get_predictions`` (mmpretrain's ``ClsHead``
            family). It must accept ``module(inputs, mode='tensor')`` and
            return the head's logits.
        data_preprocessor (dict | nn.Module, optional): Replaces the module's
            data preprocessor (as in ``BaseTTAModel``). Defaults to None.
        level (int): 0: no augmentation; 1: horizontal mirror; 2: mirror and
            translations. Defaults to 2. See :func:`flip_translate_views`.
        shift (int): Translation in pixels. Defaults to 1.
        translate_weight (float): Total weight of the translated views at
            level 2. Defaults to 0.5.
        merge (str): 'logits' averages the views' logits and applies the
            head's softmax once (airbench); 'scores' averages the views'
            softmax scores (assumes a softmax head such as ``ClsHead``).
            Defaults to 'logits'.

    Raises:
        ValueError: For an invalid ``level``, ``merge`` or weight.
        TypeError: If the module has no head with ``_get_predictions``.
    """

    def __init__(self,
                 module,
                 data_preprocessor=None,
                 level=2,
                 shift=1,
                 translate_weight=0.5,
                 merge='logits'):
        if isinstance(
                module, dict
        ):  # mmpretrain's registry, with or without a default scope
            module = dict(module)
            if data_preprocessor is not None:
                module['data_preprocessor'] = data_preprocessor
            module = MODELS.build(module)
        super().__init__(module)
        if merge not in ('logits', 'scores'):
            raise ValueError(
                f"merge must be 'logits' or 'scores', got {merge!r}")
        head = getattr(self.module, 'head', None)
        if head is None or not hasattr(head, '_get_predictions'):
            raise TypeError(
                f'BatchFlipTranslateTTA needs a classifier whose head has '
                f'_get_predictions (mmpretrain ClsHead family), got '
                f'{type(self.module).__name__} with head '
                f'{type(head).__name__}')
        # validates level/shift/translate_weight up front
        flip_translate_views(
            torch.zeros(1, 1, 2 * shift + 1, 2 * shift + 1), level, shift,
            translate_weight)
        self.level = level
        self.shift = shift
        self.translate_weight = translate_weight
        self.merge = merge

    def views(self, inputs):
        """``(view, weight)`` pairs of a preprocessed batch (see
        :func:`flip_translate_views`)."""
        return flip_translate_views(inputs, self.level, self.shift,
                                    self.translate_weight)

    def merged_logits(self, inputs):
        """Weighted average over the views of the module's logits (float32).

        With ``merge='scores'`` the result is the log of the averaged softmax
        scores, so the head's softmax turns it back into those scores.
        """
        total = None
        for view, weight in self.views(inputs):
            out = self.module(view, mode='tensor').float()
            if self.merge == 'scores':
                out = F.softmax(out, dim=1)
            total = out * weight if total is None else total + out * weight
        return total.log() if self.merge == 'scores' else total

    def forward(self, inputs, data_samples=None, mode='predict'):
        """Merged logits (``mode='tensor'``) or predictions
        (``mode='predict'``).

        Args:
            inputs (torch.Tensor): Preprocessed batch (B, C, H, W).
            data_samples (list[DataSample], optional): Samples to fill with
                ``pred_score`` and ``pred_label``; new ones when None.
            mode (str): 'tensor' or 'predict'. Defaults to 'predict'.
        """
        logits = self.merged_logits(inputs)
        if mode == 'tensor':
            return logits
        if mode == 'predict':
            return self.module.head._get_predictions(logits, data_samples)
        raise RuntimeError(
            f'BatchFlipTranslateTTA supports mode "tensor" and "predict", '
            f'got "{mode}"')

    def test_step(self, data):
        """Preprocess the batch once (``training=False``) and predict on its
        views."""
        inputs = data.get('inputs') if isinstance(data, dict) else None
        if isinstance(inputs, (list, tuple)) and inputs and isinstance(
                inputs[0], (list, tuple)):
            raise TypeError(
                'BatchFlipTranslateTTA makes its views from one batch tensor; '
                'the pipeline produced several views per image (TestTimeAug). '
                'Keep the test pipeline, e.g. tta_pipeline = '
                "[dict(type='PackInputs')]")
        data = self.module.data_preprocessor(data, False)
        return self(data['inputs'], data.get('data_samples'), mode='predict')

    val_step = test_step

    def merge_preds(self, data_samples_list):
        """Not used: views are merged per batch in :meth:`forward`."""
        raise NotImplementedError(
            'BatchFlipTranslateTTA merges views in forward(); '
            'merge_preds is not used')
