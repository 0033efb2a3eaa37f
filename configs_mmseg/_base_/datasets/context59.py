# PASCAL Context without background (Context59), 5104 val images.
_base_ = ['../default_runtime.py', '../radseg_model.py']

benchmark = 'context59'
dataset_type = 'PascalContext59Dataset'
# Folder under the data directory (default: <repo>/data); eval.py --data-root DIR
# uses DIR/<the first of data_dirnames that exists>.
data_root = 'data/VOCdevkit/VOC2010'
data_dirnames = ['VOCdevkit/VOC2010', 'VOC2010']
img_scale = (4096, 576)

test_pipeline = [
    dict(type='RADSegLoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RADSegLoadAnnotations'),
    dict(type='PackSegInputs'),
]
test_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClassContext'),
        ann_file='ImageSets/SegmentationContext/val.txt',
        pipeline=test_pipeline))

model = dict(class_names='context59', num_classes=59, coarse_thresh=0.15)
