# ADE20K, 150 classes, 2000 val images.
_base_ = ['../default_runtime.py', '../radseg_model.py']

benchmark = 'ade20k'
dataset_type = 'ADE20KDataset'
# Folder under the data directory (default: <repo>/data); eval.py --data-root DIR
# uses DIR/<the first of data_dirnames that exists>.
data_root = 'data/ADEChallengeData2016'
data_dirnames = ['ADEChallengeData2016', 'ade/ADEChallengeData2016']
img_scale = (2048, 576)

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
        data_prefix=dict(img_path='images/validation', seg_map_path='annotations/validation'),
        pipeline=test_pipeline))

model = dict(class_names='ade20k', num_classes=150, coarse_thresh=0.05)
