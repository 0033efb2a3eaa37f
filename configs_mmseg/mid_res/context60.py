# PASCAL Context with background (Context60), 5104 val images, mid res: scale (4096, 576), windows 336/224.  (preset of context59)
_base_ = '../_base_/datasets/context60.py'

img_scale = (4096, 576)
test_pipeline = [
    dict(type='RADSegLoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RADSegLoadAnnotations'),
    dict(type='PackSegInputs'),
]
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
model = dict(slide_crop=336, slide_stride=224)
