# The full (GPU) CIFAR-100 schedule: the same SGD recipe as CIFAR-10 (lr 0.1 for 128
# images, momentum 0.9, Nesterov, weight decay 5e-4; 5 epochs of linear warm-up, then
# cosine decay to 0 over the remaining 195 epochs, per iteration; 200 epochs).
# On CPU use cifar100_budget.py instead (see configs/cifar100/README.md).
_base_ = ['./cifar10_bs128_cosine.py']
