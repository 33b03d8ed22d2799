# AdamW recipe for vision transformers trained from scratch on CIFAR (CCT's CIFAR-10
# recipe, SHI-Labs/Compact-Transformers configs/pretrained/cct_7-3x1_cifar10_300epochs.yml,
# on the ResNet arms' 200 epochs): lr 5.5e-4 for 128 images, weight decay 0.06 (none on
# norms, biases, class token and position embedding), 10 epochs of linear warm-up from
# 1e-5, cosine decay to 1e-5, per iteration.
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=5.5e-4, weight_decay=0.06, betas=(0.9, 0.999)),
    paramwise_cfg=dict(
        norm_decay_mult=0.0,
        bias_decay_mult=0.0,
        custom_keys={
            '.cls_token': dict(decay_mult=0.0),
            '.pos_embed': dict(decay_mult=0.0),
        }),
)

param_scheduler = [
    dict(type='LinearLR', start_factor=1e-5 / 5.5e-4, by_epoch=True, begin=0, end=10,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=190, eta_min=1e-5, by_epoch=True, begin=10,
         end=200, convert_to_iter_based=True),
]

train_cfg = dict(by_epoch=True, max_epochs=200, val_interval=1)
val_cfg = dict()
test_cfg = dict()

# lr scales linearly with the total batch: pass --auto-scale-lr to tools/train.py.
auto_scale_lr = dict(base_batch_size=128)
