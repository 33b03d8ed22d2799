# The quickstart recipe (airbench_style_quick) at full width (64/256/256), with the 2x2
# whitening stem at stride 2 (a lossless space-to-depth step), so the three groups run
# at 16/8/4 pixels: 37 MMACs per image instead of 118, at the same widths. Measured
# with the 94-class recipe's regularisation (2-pixel translate, label smoothing 0.2).
_base_ = ['./airbench_style_quick_cifar10.py']

# ---------------------------------------------------------------- hyper-parameters
batch_size = 256
widths = (64, 256, 256)
lr = 11.5 / (1024 * (1 + 1 / (1 - 0.85))) * batch_size   # lr per example x batch
label_smoothing = 0.2
translate = 2               # pixels of random (reflect-padded) translation
# ----------------------------------------------------------------------------------

model = dict(backbone=dict(widths=widths, stem_stride=2),
             head=dict(in_channels=widths[-1], loss=dict(label_smooth_val=label_smoothing)))
data_preprocessor = dict(crop_padding=translate)
train_dataloader = dict(batch_size=batch_size)
optim_wrapper = dict(optimizer=dict(lr=lr))
auto_scale_lr = dict(base_batch_size=batch_size)
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(max_keep_ckpts=2))
