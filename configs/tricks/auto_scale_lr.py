# Linear LR scaling with the batch size (Goyal et al., "Accurate, Large Minibatch
# SGD: Training ImageNet in 1 Hour", 2017): when the total batch grows k times,
# multiply the LR by k and keep the warm-up. mmengine does it when
# auto_scale_lr.enable is True: lr = base lr x (processes x batch_size) /
# base_batch_size. Every config has auto_scale_lr = dict(base_batch_size=128)
# (the batch its lr was tuned for), so for any config
#   python tools/train.py CONFIG --auto-scale-lr --cfg-options train_dataloader.batch_size=512
#   bash tools/dist_train.sh CONFIG 4 --auto-scale-lr        # 4 x 128 images
# scale the LR; this config shows it switched on in the config itself: batch 512
# on one process -> lr 0.1 x 512 / 128 = 0.4 (the log prints the scaled value).
# Expected effect: about the accuracy of batch 128 with 4x fewer iterations; the
# rule degrades for very large batches (thousands of images on CIFAR).
_base_ = ['../resnet18_cifar10.py']

train_dataloader = dict(batch_size=512)
auto_scale_lr = dict(base_batch_size=128, enable=True)
