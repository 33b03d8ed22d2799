"""Any timm classifier as a backbone that returns its pooled (pre-logits)
features."""
from mmpretrain.models.backbones.base_backbone import BaseBackbone

from cifar_plugins.registry import MODELS


@MODELS.register_module()
class TIMMPooledBackbone(BaseBackbone):
    """A timm model minus its classifier: outputs the features its head sees.

    mmpretrain's :class:`TIMMBackbone` calls ``reset_classifier(0, '')``,
    which also removes timm's global pooling: ViT/EVA models then return all
    tokens ``(B, N, C)`` (which ``GlobalAveragePooling`` cannot pool, and
    EVA's ``fc_norm`` after pooling is skipped) and ConvNeXt applies its head
    LayerNorm per position before the neck averages. For fine-tuning that
    differs from what the pretrained classifier was trained on. Here the model
    is built with ``num_classes=0``, which keeps timm's own pooling and
    pre-logits norm, so the backbone returns ``(B, num_features)`` exactly as
    the pretrained head received it: use ``neck=None`` and a
    ``LinearClsHead`` with ``in_channels=backbone.num_features``.

    Reused: ``timm.create_model`` (weights from the Hugging Face hub with
    ``pretrained=True``, or a local file with
    ``pretrained_cfg_overlay=dict(file=PATH)``, both through timm's own key
    filtering and position-embedding resize). Written here: the wrapper,
    the gradient-checkpointing switch and keeping mmengine from re-running
    timm's initialisation over pretrained weights.

    Args:
        model_name (str): timm model name, optionally with a pretrained tag
            (``'eva02_large_patch14_448.mim_m38m_ft_in22k_in1k'``).
        pretrained (bool): Load timm's pretrained weights (downloads them
            unless ``pretrained_cfg_overlay=dict(file=...)`` names a local
            file). Defaults to False.
        grad_checkpointing (bool): Recompute activations in backward (timm's
            ``set_grad_checkpointing``) to fit large models in memory.
            Defaults to False.
        in_channels (int): Input channels. Defaults to 3.
        init_cfg (dict | list[dict], optional): mmengine initialisation
            config, applied on top of timm's initialisation.
        **kwargs: Other ``timm.create_model`` arguments (``drop_path_rate``,
            ``img_size``, ``pretrained_cfg_overlay``...).
    """

    def __init__(self,
                 model_name,
                 pretrained=False,
                 grad_checkpointing=False,
                 in_channels=3,
                 init_cfg=None,
                 **kwargs):
        import timm
        super().__init__(init_cfg)
        if 'num_classes' in kwargs or ('global_pool' in kwargs
                                       and not kwargs['global_pool']):
            raise ValueError('TIMMPooledBackbone removes the classifier '
                             'itself and keeps '
                             "timm's pooling; do not "
                             "pass num_classes or an empty global_pool")
        self.timm_model = timm.create_model(
            model_name,
            pretrained=pretrained,
            num_classes=0,
            in_chans=in_channels,
            **kwargs)
        if grad_checkpointing:
            self.timm_model.set_grad_checkpointing(True)
        # timm initialised (or loaded) the weights already; mmengine must not
        # call timm's own ``init_weights`` again over them.
        self.timm_model.is_init = True
        self.num_features = self.timm_model.num_features

    def forward(self, x):
        return (self.timm_model(x), )
