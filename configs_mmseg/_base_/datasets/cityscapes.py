# Cityscapes, 19 classes, 500 val images.
_base_ = ['../default_runtime.py', '../radseg_model.py', '../test_loader.py']

benchmark = 'cityscapes'
dataset_type = 'CityscapesDataset'
# Folder under the data directory (default: <repo>/data); eval.py --data-root DIR
# uses DIR/<the first of data_dirnames that exists>.
data_root = 'data/cityscapes'
data_dirnames = ['cityscapes', 'CityScapes']
test_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='leftImg8bit/val', seg_map_path='gtFine/val')))

model = dict(class_names='cityscapes', num_classes=19, coarse_thresh=0.1)
