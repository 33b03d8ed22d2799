# Dropout before the classifier (Srivastava et al., "Dropout: A Simple Way to
# Prevent Neural Networks from Overfitting", JMLR 2014): the pooled features are
# zeroed with probability dropout_rate during training (scaled by 1/(1-p)), and
# left untouched at test time. mmpretrain's LinearClsHead has no dropout, so
# cifar_plugins adds DropoutLinearClsHead (LinearClsHead + nn.Dropout before fc).
# Expected effect: slightly less overfitting of the final layer; the gain is
# small for convolutional networks with BN and strong augmentation.
_base_ = ['../resnet18_cifar10.py']

model = dict(head=dict(type='DropoutLinearClsHead', dropout_rate=0.3))
