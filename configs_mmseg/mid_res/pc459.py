# PC-459, 459 classes, 5104 val images, mid res: scale (4096, 576), windows 336/224
# (Context59's preset: the toolkit's rule for the images' source).
_base_ = '../_base_/datasets/pc459.py'

img_scale = (4096, 576)
test_pipeline = [
    dict(type='RADSegLoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RADSegLoadAnnotations', label_dtype='uint16'),  # 16-bit labels, lossless
    dict(type='PackSegInputs'),
]
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
model = dict(slide_crop=336, slide_stride=224)
