# CIFAR ResNet34 (mmpretrain ResNet_CIFAR, depth 34; 21.3M parameters), 32x32 inputs.
# Same recipe as resnet18_cifar10.py: SGD lr 0.1 / momentum 0.9 / wd 5e-4, 5-epoch
# warm-up + cosine, 200 epochs, batch 128, crop (padding 4) + flip.
# Expected: ~95.3% top-1 (mmpretrain resnet34_8xb16_cifar10: 95.34%, a step-decay recipe).
_base_ = ['./resnet18_cifar10.py']

model = dict(backbone=dict(depth=34))
