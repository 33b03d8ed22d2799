# The CIFAR-10 model study: plain vs residual networks at two depths (He et al.
# 2016) and multi-scale fusion on ResNet18, with paired seeds.
#   python tools/study.py configs/studies/cifar10_models_cpu.py            # CPU scale
#   python tools/study.py configs/studies/cifar10_models_cpu.py --scale paper \
#       --launcher slurm --partition P --nproc 1                          # GPUs
# CPU scale: every arm at base width 16 (paper: 64; depth and block structure
# unchanged, so Plain34 is still Plain34) with the recipe in recipes/cpu_scale_sgd.py.
# Paper scale: each config as it is (full width, 200 epochs).
description = ('Plain vs residual CIFAR networks at depth 18 and 34, and '
               'multi-scale fusion (ResNet18-MS) on ResNet18.')
baseline = 'resnet18'
seeds = 2

width = 16  # base width of every arm at CPU scale (the configs: 64)
scales = dict(
    cpu=dict(recipe='recipes/cpu_scale_sgd.py',
             options=dict(model=dict(
                 backbone=dict(stem_channels=width, base_channels=width),
                 head=dict(in_channels=8 * width)))),
    paper=dict(),
)

arms = [
    dict(name='resnet18', config='../resnet18_cifar10.py', seeds=3),
    # the backbone change alone (same recipe as resnet18): the multi-scale claim
    dict(name='resnet18_ms', config='../resnet18_ms_basic_cifar10.py', seeds=3),
    dict(name='plain18', config='../plain18_cifar10.py'),
    dict(name='plain34', config='../plain34_cifar10.py'),
    dict(name='resnet34', config='../resnet34_cifar10.py'),
    # fusion ablation: the last-but-one stage only
    dict(name='resnet18_ms_fuse2', config='../resnet18_ms_basic_cifar10.py',
         seeds=1, options=dict(model=dict(backbone=dict(fuse_stages=(2, ))))),
]

claims = [
    dict(text='Multi-scale fusion helps ResNet18', arm='resnet18_ms',
         reference='resnet18', expect='>'),
    dict(text='Plain nets degrade with depth (test accuracy)', arm='plain34',
         reference='plain18', expect='<'),
    dict(text='Plain nets degrade with depth (training loss, He et al.)',
         arm='plain34', reference='plain18', expect='>',
         metric='final_train_loss'),
    dict(text='Residual nets gain from depth (test accuracy)', arm='resnet34',
         reference='resnet18', expect='>'),
    dict(text='Residual nets do not degrade (training loss)', arm='resnet34',
         reference='resnet18', expect='<', metric='final_train_loss'),
    dict(text='Shortcuts help at depth 18', arm='resnet18',
         reference='plain18', expect='>'),
    dict(text='Shortcuts help at depth 34', arm='resnet34',
         reference='plain34', expect='>'),
]

figures = [
    dict(name='degradation_train_loss', metric='train_loss',
         title='Training loss: plain vs residual',
         panels=[['plain18', 'plain34'], ['resnet18', 'resnet34']]),
]
zoo_readmes = ['../README.md']
