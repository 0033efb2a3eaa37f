# COCO-Stuff164k, 171 classes, 5000 val images.
_base_ = ['../default_runtime.py', '../radseg_model.py']

benchmark = 'coco_stuff164k'
dataset_type = 'COCOStuffDataset'
# Folder under the data directory (default: <repo>/data); eval.py --data-root DIR
# uses DIR/<the first of data_dirnames that exists>.
data_root = 'data/coco_stuff164k'
data_dirnames = ['coco_stuff164k', 'COCOStuff']
img_scale = (2048, 448)

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
        data_prefix=dict(img_path='images/val2017', seg_map_path='annotations/val2017'),
        pipeline=test_pipeline))

model = dict(class_names='coco_stuff164k', num_classes=171, coarse_thresh=0.05)
