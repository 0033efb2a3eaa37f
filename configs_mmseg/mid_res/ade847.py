# ADE-847, 847 classes, 2000 val images, mid res: scale (2048, 576), windows 336/224
# (ADE20K's preset: the toolkit's rule for the images' source).
_base_ = '../_base_/datasets/ade847.py'

img_scale = (2048, 576)
test_pipeline = [
    dict(type='RADSegLoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RADSegLoadAnnotations', label_dtype='uint16'),  # 16-bit labels, lossless
    dict(type='PackSegInputs'),
]
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
model = dict(slide_crop=336, slide_stride=224)
