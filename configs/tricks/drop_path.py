# Stochastic depth / drop path (Huang et al., "Deep Networks with Stochastic
# Depth", ECCV 2016): during training each residual branch is dropped for a whole
# sample with some probability (rescaled when kept), so the network trains as an
# ensemble of shallower networks. mmpretrain's ResNet (and ResNet_CIFAR) takes
# drop_path_rate and increases the rate linearly from 0 at the first block to
# this value at the last one, as in the paper's linear decay rule.
# Expected effect: helps deep networks and long schedules; for an 8-block
# ResNet18 at 200 epochs a small rate (0.05-0.1) gives at most a small gain.
_base_ = ['../resnet18_cifar10.py']

model = dict(backbone=dict(drop_path_rate=0.1))
