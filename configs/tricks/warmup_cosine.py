# Linear warm-up + cosine decay, written out (it is also the baseline schedule of
# configs/_base_/schedules/cifar10_bs128_cosine.py). Warm-up (Goyal et al.,
# "Accurate, Large Minibatch SGD: Training ImageNet in 1 Hour", 2017) raises the
# LR linearly from 1% to 100% over the first epochs, which avoids early
# divergence at large LRs and batches; cosine annealing (Loshchilov & Hutter,
# "SGDR: Stochastic Gradient Descent with Warm Restarts", ICLR 2017, without
# restarts) then decays it to eta_min at the last epoch. mmengine's LinearLR and
# CosineAnnealingLR, updated every iteration (convert_to_iter_based=True).
# Expected effect: higher final accuracy than step decay at the same budget and
# stable starts; change warmup_epochs / max_epochs below and the rest follows.
_base_ = ['../resnet18_cifar10.py']

max_epochs = 200
warmup_epochs = 5

param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, end_factor=1.0, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs, eta_min=0.0,
         by_epoch=True, begin=warmup_epochs, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs)
