# The quickstart recipe (quickstart_cifar10.py) at full width (64/256/256),
# with the 2x2 whitening stem at stride 2 (a lossless space-to-depth step), so
# the three groups run at 16/8/4 pixels: 37 MMACs per image instead of 118, at
# the same widths. Measured with the 94-class recipe's regularisation (2-pixel
# translate, label smoothing 0.2). Its own epochs and schedule, so that changes
# to the quickstart leave it as measured.
_base_ = ['./quickstart_cifar10.py']

# ---------------------------------------------------------------- hyper-parameters
epochs = 4
batch_size = 256
widths = (64, 256, 256)
lr = 11.5 / (1024 * (1 + 1 / (1 - 0.85))) * batch_size   # lr per example x batch
label_smoothing = 0.2
translate = 2               # pixels of random (reflect-padded) translation
warmup_fraction = 0.23
# ----------------------------------------------------------------------------------

model = dict(backbone=dict(widths=widths, stem_stride=2),
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
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(max_keep_ckpts=2))
tta_model = dict(type='BatchFlipTranslateTTA', level=2)  # as measured
