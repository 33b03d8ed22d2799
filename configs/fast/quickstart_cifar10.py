# The quickstart recipe (tools/quickstart.sh): airbench_style_94's parts, narrower
# (40/128/128), batch 128, 3 epochs, and less regularisation, since so short a run
# under-fits: no random translate (the alternating flip stays), label smoothing 0.1;
# mirror-only TTA (a third of the test time of mirror + translates, same accuracy here).
# Sized for 10 minutes of training + test on 2 cores of an AVX2-only CPU (AMD EPYC Zen 3).
# Measured: configs/fast/README.md.
_base_ = ['./airbench_style_94_cifar10.py']

# ---------------------------------------------------------------- hyper-parameters
epochs = 3
batch_size = 128
widths = (40, 128, 128)
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
tta_model = dict(type='BatchFlipTranslateTTA', level=1)
