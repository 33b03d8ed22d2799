# AutoAugment, CIFAR-10 policy (Cubuk et al., "AutoAugment: Learning Augmentation
# Strategies from Data", CVPR 2019): each image gets one of 25 learned
# sub-policies of two operations (probability and magnitude each). mmpretrain's
# AutoAugment transform with the 'cifar10' policy registered by cifar_plugins
# (cifar_plugins/datasets/transforms/auto_augment_policies.py documents how the
# paper's magnitudes map to mmpretrain's transforms). It runs per image in the
# dataset pipeline; random crop and flip still run per batch in
# CIFARDataPreprocessor afterwards. The same policy is used for CIFAR-100.
# Expected effect: in the paper, WRN-28-10 on CIFAR-10 goes from 3.1% (baseline
# + Cutout) to 2.6% test error (AutoAugment + Cutout); see all_tricks.py for the
# combination with Cutout. Data loading costs more CPU: raise num_workers.
_base_ = ['../resnet18_cifar10.py']

train_pipeline = [
    dict(type='AutoAugment', policies='cifar10'),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
