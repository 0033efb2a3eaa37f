# mmseg's test pipeline and loader, shared by every benchmark (ALGORITHM.md section 9).
# Each preset (low_res/, mid_res/, high_res/) sets its own Resize scale; the dataset
# bases in datasets/ fill in the dataset (type, folders, split file).
img_scale = (2048, 448)
test_pipeline = [
    dict(type='RADSegLoadImageFromFile'),  # mmcv LoadImageFromFile (cv2, BGR); names a corrupt file
    dict(type='Resize', scale=img_scale, keep_ratio=True),  # mmcv imrescale, bilinear
    dict(type='RADSegLoadAnnotations'),  # after Resize: labels stay at the original size
    dict(type='PackSegInputs'),
]
test_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(pipeline=test_pipeline))
