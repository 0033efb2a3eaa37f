# PASCAL VOC 2012 without background (VOC20), 1449 val images.
_base_ = ['../default_runtime.py', '../radseg_model.py']

benchmark = 'voc20'
dataset_type = 'PascalVOC20Dataset'
# Folder under the data directory (default: <repo>/data); eval.py --data-root DIR
# uses DIR/<the first of data_dirnames that exists>.
data_root = 'data/VOC2012'
data_dirnames = ['VOC2012', 'VOCdevkit/VOC2012']
img_scale = (2048, 336)

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
        data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
        ann_file='ImageSets/Segmentation/val.txt',
        pipeline=test_pipeline))

model = dict(class_names='voc20', num_classes=20, coarse_thresh=0.2)
