# The full (GPU) CIFAR-100 schedule: SGD lr 0.1 for 128 images, momentum 0.9,
# Nesterov, weight decay 5e-4; 5 epochs of linear warm-up, then cosine decay to 0
# over the remaining 195 epochs (per iteration); 200 epochs.
# On CPU use cifar100_budget.py instead (see configs/cifar100/README.md).
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True))

param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=5,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=195, eta_min=0.0, by_epoch=True, begin=5,
         end=200, convert_to_iter_based=True),
]

train_cfg = dict(by_epoch=True, max_epochs=200, val_interval=1)
val_cfg = dict()
test_cfg = dict()

# pass --auto-scale-lr when the total batch differs from 128
auto_scale_lr = dict(base_batch_size=128)
