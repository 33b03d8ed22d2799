# Combination: CoAtNet (C-C-T-T) + LSK attention in the MBConv stages only. The
# convolution stages see 32x32 and 16x16 maps with a 3x3 depthwise kernel; LSK adds
# selectable large receptive fields there, where the attention stages (3-4) are
# already global.
_base_ = ['./slim_coatnet_cifar100.py']
model = dict(backbone=dict(attention=[dict(type='LSKAttention'), dict(type='LSKAttention'),
                                      None, None]))
