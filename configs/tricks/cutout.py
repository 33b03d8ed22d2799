# Cutout (DeVries & Taylor, "Improved Regularization of Convolutional Neural
# Networks with Cutout", 2017): one random square per training image is masked;
# its centre is uniform over the image, so it can be clipped at the borders. The
# paper uses 16x16 for CIFAR-10 and 8x8 for CIFAR-100 (set cutout_size=8 there).
# Here it runs per batch on the tensor in CIFARDataPreprocessor (one vectorised
# mask, after crop/flip); the hole gets the normalisation mean, i.e. 0 after
# normalisation, as in the paper. mmpretrain's per-image alternative is
# dict(type='Cutout', shape=16, pad_val=(125, 123, 114), prob=1.0) before
# PackInputs in the train pipeline.
# Expected effect: in the paper, ResNet-18 on CIFAR-10 goes from about 4.7% to
# about 4.0% test error.
_base_ = ['../resnet18_cifar10.py']

data_preprocessor = dict(cutout_size=16)
