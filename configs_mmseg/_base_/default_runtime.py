# Runtime shared by every RADSeg evaluation config (mmengine test loop only).
default_scope = 'mmseg'
custom_imports = dict(imports=['radseg.mmseg'], allow_failed_imports=False)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # eval.py picks 'nccl' on GPU and 'gloo' on CPU when launched distributed.
    dist_cfg=dict(backend='nccl'),
)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='SegLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=0, save_last=False),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook', draw=False),
)

test_cfg = dict(type='TestLoop')
# mmseg's IoUMetric (ignore index 255) plus per-class IoU/Acc in the returned metrics.
test_evaluator = dict(type='RADSegIoUMetric', iou_metrics=['mIoU'])
