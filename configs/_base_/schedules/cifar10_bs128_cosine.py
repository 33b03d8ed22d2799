# mmpretrain's CIFAR SGD recipe (lr 0.1 for 128 images, momentum 0.9) with
# 5 epochs of linear warm-up and cosine decay over 200 epochs, per iteration.
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

# lr scales linearly when the total batch (GPUs x batch_size) differs from 128:
# pass --auto-scale-lr to tools/train.py.
auto_scale_lr = dict(base_batch_size=128)
