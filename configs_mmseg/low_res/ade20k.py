# ADE20K, 150 classes, 2000 val images, low res: scale (2048, 336), windows 224/112.
_base_ = '../_base_/datasets/ade20k.py'

img_scale = (2048, 336)
test_pipeline = [
    dict(type='RADSegLoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RADSegLoadAnnotations'),
    dict(type='PackSegInputs'),
]
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
model = dict(slide_crop=224, slide_stride=112)
