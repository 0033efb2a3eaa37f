# ADE20K, 150 classes, 2000 val images.
_base_ = ['../default_runtime.py', '../radseg_model.py', '../test_loader.py']

benchmark = 'ade20k'
dataset_type = 'ADE20KDataset'
# Folder under the data directory (default: <repo>/data); eval.py --data-root DIR
# uses DIR/<the first of data_dirnames that exists>.
data_root = 'data/ADEChallengeData2016'
data_dirnames = ['ADEChallengeData2016', 'ade/ADEChallengeData2016']
test_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='images/validation', seg_map_path='annotations/validation')))

model = dict(class_names='ade20k', num_classes=150, coarse_thresh=0.05)
