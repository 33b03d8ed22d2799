# CSPNet: every stage is a cross-stage-partial stage: a 3x3 (strided) conv and a 1x1 expand
# conv, then half of the channels go through the stage's basic blocks + a 1x1 partial
# transition while the other half bypasses them; concat + 1x1 transition (fusion last,
# partial ratio 0.5). Without the expand conv: slim_csp_noexpand.
_base_ = ['./slim_resnet_cifar100.py']
model = dict(backbone=dict(
    block=dict(type='CSPSlimStage', block=dict(type='SlimBasicBlock'), split_ratio=0.5,
               expand_conv=True)))
