# ADE20K, 150 classes, 2000 val images, high res: scale (2016, 672), windows 336/224.
_base_ = '../_base_/datasets/ade20k.py'

img_scale = (2016, 672)
test_pipeline = [
    dict(type='RADSegLoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RADSegLoadAnnotations'),
    dict(type='PackSegInputs'),
]
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
model = dict(slide_crop=336, slide_stride=224)
