# Short CPU budget schedule for comparing methods on CIFAR-100 (not for final
# numbers): 2 epochs with a one-cycle LR (cosine warm-up to 0.1 over the first
# 25% of iterations, then cosine annealing to ~0), same optimizer as the full
# schedule. Meant to be combined with a training subset, e.g.
#   CIFAR100_SCHEDULE=cifar100_budget python tools/train.py CONFIG \
#       --cfg-options train_dataloader.dataset.indices=10000
# (every configs/cifar100 config reads its schedule from $CIFAR100_SCHEDULE).
max_epochs = 2

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True))

param_scheduler = [
    dict(type='OneCycleLR', eta_max=0.1, pct_start=0.25, by_epoch=True, begin=0,
         end=max_epochs, convert_to_iter_based=True),
]

train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict()
test_cfg = dict()

auto_scale_lr = dict(base_batch_size=128)
