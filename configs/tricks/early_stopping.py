# Early stopping on validation accuracy (e.g. Prechelt, "Early Stopping - But
# When?", 1998): stop when top-1 has not improved by min_delta (points of %) in
# `patience` validations. cifar_plugins' ResumableEarlyStoppingHook is mmengine's
# EarlyStoppingHook with its best score and wait count stored in checkpoints, so
# --resume continues the count (mmengine's own hook restarts it); with
# save_best='auto' (default_runtime) the best checkpoint is kept.
# Expected effect: saves compute when a run has stopped improving. With a cosine
# schedule accuracy keeps rising until the LR is small, so patience is generous;
# use it mainly for exploratory runs, not for final numbers.
_base_ = ['../resnet18_cifar10.py']

custom_hooks = [
    dict(type='ResumableEarlyStoppingHook', monitor='accuracy/top1', rule='greater',
         min_delta=0.1, patience=20),
]
