# COCO-Stuff164k, 171 classes, 5000 val images.
_base_ = ['../default_runtime.py', '../radseg_model.py', '../test_loader.py']

benchmark = 'coco_stuff164k'
dataset_type = 'COCOStuffDataset'
# Folder under the data directory (default: <repo>/data); eval.py --data-root DIR
# uses DIR/<the first of data_dirnames that exists>.
data_root = 'data/coco_stuff164k'
data_dirnames = ['coco_stuff164k', 'COCOStuff']
test_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='images/val2017', seg_map_path='annotations/val2017')))

model = dict(class_names='coco_stuff164k', num_classes=171, coarse_thresh=0.05)
