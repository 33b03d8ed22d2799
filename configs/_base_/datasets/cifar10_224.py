# CIFAR-10 resized for ImageNet-pretrained models: 224x224 inputs, 128 images per batch.
# The 32x32 images are upsampled per image in the pipeline (the preprocessor stacks
# equally sized images): RandomResizedCrop for training, a plain Resize for testing.
# The crop keeps >= 50% of the area (ImageNet's 8% would leave a few pixels of a
# 32-pixel image); the preprocessor only flips (crop_padding=0).
# For another size (e.g. 448 for EVA-02-L) copy the pipeline lines (train,
# test, tta) of configs/eva02_large_ft_cifar10.py.
_base_ = ['./cifar10_bs128.py']

img_size = 224
data_preprocessor = dict(crop_padding=0, flip_prob=0.5)

train_pipeline = [
    dict(type='RandomResizedCrop', scale=img_size, crop_ratio_range=(0.5, 1.0),
         backend='pillow', interpolation='bicubic'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='Resize', scale=(img_size, img_size), backend='pillow', interpolation='bicubic'),
    dict(type='PackInputs'),
]
tta_pipeline = test_pipeline

train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=128, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
