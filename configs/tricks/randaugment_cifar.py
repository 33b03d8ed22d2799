# RandAugment (Cubuk et al., "RandAugment: Practical automated data augmentation
# with a reduced search space", NeurIPS 2020): each image gets N operations drawn
# uniformly from a fixed list, all at one global magnitude M, so only (N, M) is
# tuned. mmpretrain's RandAugment transform with the 'cifar' operation list
# registered by cifar_plugins (magnitude M on a 0-10 scale, 10 = the AutoAugment
# ranges). N=3, M=5 is the paper's setting for WRN-28-10 on CIFAR-10; the paper
# uses N=2, M=14 for WRN-28-10 on CIFAR-100. Runs per image in the dataset
# pipeline, before the per-batch crop/flip of CIFARDataPreprocessor.
# Expected effect: about the accuracy of AutoAugment without a policy search.
_base_ = ['../resnet18_cifar10.py']

train_pipeline = [
    dict(type='RandAugment', policies='cifar', num_policies=3, magnitude_level=5),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
