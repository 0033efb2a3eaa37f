# Cityscapes, 19 classes, 500 val images.
_base_ = ['../default_runtime.py', '../radseg_model.py']

benchmark = 'cityscapes'
dataset_type = 'CityscapesDataset'
# Folder under the data directory (default: <repo>/data); eval.py --data-root DIR
# uses DIR/<the first of data_dirnames that exists>.
data_root = 'data/cityscapes'
data_dirnames = ['cityscapes', 'CityScapes']
img_scale = (2048, 688)

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
        data_prefix=dict(img_path='leftImg8bit/val', seg_map_path='gtFine/val'),
        pipeline=test_pipeline))

model = dict(class_names='cityscapes', num_classes=19, coarse_thresh=0.1)
