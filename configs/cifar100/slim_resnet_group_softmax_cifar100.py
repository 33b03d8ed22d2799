# Channel-group softmax attention in every block (a variant derived from ResNeSt's
# r-softmax, NOT ResNeSt's split attention): radix-2 softmax between the two channel
# halves of the block output (channel j competes with j + C/2), all C channels kept.
# ResNeSt itself is slim_resnest_cifar100.py (ResNeStBlock's split-attention conv).
_base_ = ['./slim_resnet_cifar100.py']
model = dict(backbone=dict(attention=dict(type='ChannelGroupSoftmax', radix=2, groups=1)))
