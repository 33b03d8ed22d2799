# Stochastic Weight Averaging (Izmailov et al., "Averaging Weights Leads to Wider
# Optima and Better Generalization", UAI 2018): train normally for 75% of the
# budget, then keep a high constant LR (swa_lr) and average the weights reached
# at the end of each of the last epochs with equal weights; finally recompute
# BatchNorm statistics for the averaged weights with one pass over the training
# data. cifar_plugins' SWAHook (on mmengine's StochasticWeightAverage) does the
# averaging, the BatchNorm pass, validation/test with the averaged weights and
# resume-safe checkpoints; the LR below anneals (cosine) to swa_lr when SWA
# starts and then stays constant. Do not combine with EMAHook.
# Expected effect: in the paper, roughly 1-2 points higher top-1 on CIFAR-100
# than conventional SGD training (VGG-16, PreResNet-164, WRN-28-10), less on
# CIFAR-10. The BatchNorm pass after each averaged epoch costs about a third
# of a training epoch (forward only), i.e. about +8% here.
_base_ = ['../resnet18_cifar10.py']

max_epochs = 200
warmup_epochs = 5
swa_start = 150  # averaging covers epochs swa_start + 1 .. max_epochs
swa_lr = 0.01  # 10% of the base LR (auto_scale_lr scales the base LR, not this)

param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    # after swa_start no scheduler is active, so the LR stays at eta_min = swa_lr
    dict(type='CosineAnnealingLR', T_max=swa_start - warmup_epochs, eta_min=swa_lr,
         by_epoch=True, begin=warmup_epochs, end=swa_start, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs)

custom_hooks = [dict(type='SWAHook', begin_epoch=swa_start + 1)]
