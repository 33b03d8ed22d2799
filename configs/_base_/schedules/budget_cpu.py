# Equal short budget for comparing configs on a CPU (tools/sweep.py --schedule).
# Only the schedule is replaced; each config keeps its own optimizer, model and
# data recipe. 3 epochs: 1 epoch of linear warm-up, then cosine decay to 0, per
# iteration; validation after every epoch so curves have 3 points. Combine with
# a training subset for very slow models, e.g.
#   --cfg-options train_dataloader.dataset.indices=10000
# Numbers from this schedule are budget runs, not the papers' full-schedule results.
max_epochs = 3
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, eta_min=0.0, by_epoch=True,
         begin=1, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
