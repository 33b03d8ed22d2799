# Short-budget recipe: airbench_style_94's parts at full width (64/256/256), but the
# 2x2 whitening stem has stride 2 (a lossless space-to-depth step), so the three
# groups run at 16/8/4 pixels: 37 MMACs per image instead of 118, at the same widths.
_base_ = ['./airbench_style_94_cifar10.py']

# ---------------------------------------------------------------- hyper-parameters
epochs = 4
batch_size = 256
widths = (64, 256, 256)
lr = 11.5 / (1024 * (1 + 1 / (1 - 0.85))) * batch_size   # lr per example x batch
warmup_fraction = 0.23
whiten_bias_epochs = 2
# ----------------------------------------------------------------------------------

model = dict(backbone=dict(widths=widths, stem_stride=2), head=dict(in_channels=widths[-1]))
train_dataloader = dict(batch_size=batch_size)
optim_wrapper = dict(optimizer=dict(lr=lr))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.2, end_factor=1.0, by_epoch=True, begin=0,
         end=warmup_fraction * epochs, convert_to_iter_based=True),
    dict(type='LinearLR', start_factor=1.0, end_factor=0.07, by_epoch=True,
         begin=warmup_fraction * epochs, end=epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=epochs, val_interval=epochs)
auto_scale_lr = dict(base_batch_size=batch_size)
custom_hooks = [
    dict(type='WhiteningInitHook', num_images=5000, bias_epochs=whiten_bias_epochs),
    dict(type='LookaheadHook', interval=5, base_decay=0.95, power=3.0),
]
