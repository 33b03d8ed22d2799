# The package's proposed block (README.md, "Gated Ghost"): Ghost-ResNet (s=2) whose
# ghost maps come from a gated 7x7 depthwise mixer, intrinsic * sigmoid(BN(dw7x7(intrinsic))),
# plus ECA in every block. About half the weights of the slim base; the gate adds an
# input-adaptive spatial interaction (as gnConv) at zero parameters and
# ECA re-weights channels for k parameters per block. Its ablation against the parts is
# the 2x2x2 factorial {gate} x {7x7} x {ECA} over the configs listed in README.md.
_base_ = ['./slim_gatedghost_dw7_cifar100.py']
model = dict(backbone=dict(attention=dict(type='ECA')))
