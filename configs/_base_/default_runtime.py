# Runtime shared by every cifar-plugins config (after mmpretrain's default_runtime).
# Importing cifar_plugins registers the plugin's components and applies its fixes
# (safe checkpoint loading on torch>=2.6, CPU multi-process), so mim, tools/train.py
# and a bare mmpretrain tools/train.py all work.
custom_imports = dict(imports=['cifar_plugins'], allow_failed_imports=False)
default_scope = 'mmpretrain'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3, save_best='auto'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='VisualizationHook', enable=False),
    # RNG states in checkpoints: a resumed run ends with the same weights
    rng_state=dict(type='RNGStateHook'),
    # temporaries of checkpoint writes that a killed job left behind
    stale_temp=dict(type='StaleTempCleanupHook'),
    # logged training losses are the mean over the processes, not rank 0's
    rank_mean_loss=dict(type='RankMeanLossHook'),
    # large activation blocks are reused, not unmapped and faulted in again each step
    heap_reuse=dict(type='HeapReuseHook'),
)

env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # nccl on GPUs; cifar_plugins switches to gloo when CUDA is not available.
    dist_cfg=dict(backend='nccl'),
)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)

# --tta of tools/test.py and of mmpretrain's tools/test.py (mim test) wrap
# the model in tta_model and give the test dataset tta_pipeline. Every config
# has both (tta_pipeline from the dataset bases: the test pipeline), so the
# two test the same way: mirror + 1-pixel translations of the batch tensor.
tta_model = dict(type='BatchFlipTranslateTTA')

log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
