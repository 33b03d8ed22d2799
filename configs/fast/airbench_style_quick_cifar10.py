# The quickstart recipe (tools/quickstart.sh): airbench_style_94's parts, narrower
# (48/144/144), batch 128, 4 epochs, and less regularisation, since so short a run
# under-fits:
# no random translate (the alternating flip stays), label smoothing 0.1.
# Measured: configs/fast/README.md.
_base_ = ['./airbench_style_94_cifar10.py']

# ---------------------------------------------------------------- hyper-parameters
epochs = 4
batch_size = 128
widths = (48, 144, 144)
lr = 11.5 / (1024 * (1 + 1 / (1 - 0.85))) * batch_size   # lr per example x batch
warmup_fraction = 0.23
whiten_bias_epochs = 2
label_smoothing = 0.1
translate = 0               # pixels of random (reflect-padded) translation
# ----------------------------------------------------------------------------------

model = dict(backbone=dict(widths=widths),
             head=dict(in_channels=widths[-1], loss=dict(label_smooth_val=label_smoothing)))
data_preprocessor = dict(crop_padding=translate)
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
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(max_keep_ckpts=1))
