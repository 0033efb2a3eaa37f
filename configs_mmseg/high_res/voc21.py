# PASCAL VOC 2012 with background (VOC21), 1449 val images, high res: scale (2016, 672), windows 336/224.  (preset of voc20)
_base_ = '../_base_/datasets/voc21.py'

img_scale = (2016, 672)
test_pipeline = [
    dict(type='RADSegLoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RADSegLoadAnnotations'),
    dict(type='PackSegInputs'),
]
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
model = dict(slide_crop=336, slide_stride=224)
