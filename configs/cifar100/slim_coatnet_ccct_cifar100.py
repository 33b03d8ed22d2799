# Ablation of slim_coatnet: C-C-C-T (MBConv in stages 1-3, relative attention in the
# last stage only, 4x4 grid), one of the layouts compared in the CoAtNet paper.
_base_ = ['./slim_coatnet_cifar100.py']
model = dict(backbone=dict(
    block=[{{_base_.mbconv}}, {{_base_.mbconv}}, {{_base_.mbconv}}, {{_base_.transformer_4x4}}]))
