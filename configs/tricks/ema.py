# Exponential moving average of the weights (Polyak & Juditsky, "Acceleration of
# Stochastic Approximation by Averaging", 1992, in its exponential form):
# ema = (1 - momentum) * ema + momentum * weights after every iteration.
# mmengine's EMAHook swaps the averaged weights in for validation and test and
# stores them as the checkpoint's state_dict (the running weights are kept in
# ema_state_dict for --resume). momentum=1e-4 averages over about 10k iterations
# (about 25 epochs of 391 iterations at batch 128).
# Expected effect: a smoother, usually slightly better model, most visible
# before the LR has decayed to zero.
_base_ = ['../resnet18_cifar10.py']

custom_hooks = [dict(type='EMAHook', momentum=1e-4, priority='ABOVE_NORMAL')]
