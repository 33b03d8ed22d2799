# ResNeSt-style split attention as an attention module in every block: radix-2
# softmax between the two channel halves of the block output.
_base_ = ['./slim_resnet_cifar100.py']
model = dict(backbone=dict(attention=dict(type='SplitAttention', radix=2, groups=1)))
