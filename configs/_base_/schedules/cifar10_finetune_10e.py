# Fine-tuning schedule for ImageNet-pretrained models on CIFAR-10: 10 epochs, one
# epoch of linear warm-up, cosine decay to 0, gradient clipping at global norm 1
# (as in the ViT paper's transfer recipe, Dosovitskiy et al. 2021, Appendix B.1.1).
# The optimizer is each config's own (``optim_wrapper.optimizer``).
optim_wrapper = dict(clip_grad=dict(max_norm=1.0))

param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=9, eta_min=0.0, by_epoch=True, begin=1, end=10,
         convert_to_iter_based=True),
]

train_cfg = dict(by_epoch=True, max_epochs=10, val_interval=1)
val_cfg = dict()
test_cfg = dict()

auto_scale_lr = dict(base_batch_size=128)
