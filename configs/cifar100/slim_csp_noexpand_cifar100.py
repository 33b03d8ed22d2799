# Ablation of slim_csp: CSP stages without the 1x1 expand conv before the split (in stage 1
# the bypass half is then the raw stem output), the form used before.
_base_ = ['./slim_csp_cifar100.py']
model = dict(backbone=dict(block=dict(expand_conv=False)))
