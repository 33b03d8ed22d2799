# Attention-in-block vs as-neck ablation: the plain SlimResNet, with one ECA module
# on the last feature map before global average pooling (AttentionNeck).
_base_ = ['./slim_resnet_cifar100.py']
model = dict(
    neck=dict(_delete_=True, type='AttentionNeck', in_channels=256,
              attention=dict(type='ECA')))
