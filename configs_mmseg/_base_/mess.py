# MESS (22 datasets, 25 entries): the ONE preset of every configs_mmseg/mess/<entry>.py (docs/MESS.md).
# The literature's MESS pipeline for mmseg training-free methods is not published (CorrCLIPv2's
# configs/mess/ is missing from its snapshot), so RADSeg uses its shared test pipeline unchanged:
# Resize(scale=(2048, 448), keep_ratio=True) (the short side ProxyCLIP/Trident/CorrCLIPv2 use for
# ADE-847 and PC-459) and RADSeg's default windows 336/224. Override per run with
#   --cfg-options model.slide_crop=224 model.slide_stride=112 "test_dataloader.dataset.pipeline.1.scale=(2048,336)"
# or copy configs_mmseg/ and point the sweep at it (--config-dir).
_base_ = ['default_runtime.py', 'radseg_model.py', 'test_loader.py']

preset = 'mess'
img_scale = (2048, 448)
test_pipeline = [
    dict(type='RADSegLoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RADSegLoadAnnotations'),  # 8-bit class-index PNGs, 255 = ignore
    dict(type='PackSegInputs'),
]
test_dataloader = dict(dataset=dict(type='MESSDataset', pipeline=test_pipeline))
model = dict(slide_crop=336, slide_stride=224, coarse_thresh=0.10)
