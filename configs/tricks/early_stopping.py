# Early stopping on validation accuracy (e.g. Prechelt, "Early Stopping - But
# When?", 1998): stop when top-1 has not improved by min_delta (points of %) in
# `patience` validations. mmengine's EarlyStoppingHook; with save_best='auto'
# (default_runtime) the best checkpoint is kept. Note that the hook's wait
# counter is not stored in checkpoints: it restarts after --resume.
# Expected effect: saves compute when a run has stopped improving. With a cosine
# schedule accuracy keeps rising until the LR is small, so patience is generous;
# use it mainly for exploratory runs, not for final numbers.
_base_ = ['../resnet18_cifar10.py']

custom_hooks = [
    dict(type='EarlyStoppingHook', monitor='accuracy/top1', rule='greater', min_delta=0.1,
         patience=20),
]
