# COCO-Object (background + 80 things), 5000 val images.
# Not in the RADSeg paper; coarse_thresh and presets follow coco_stuff164k.
_base_ = ['../default_runtime.py', '../radseg_model.py', '../test_loader.py']

benchmark = 'coco_object'
dataset_type = 'COCOObjectDataset'
# Folder under the data directory (default: <repo>/data); eval.py --data-root DIR
# uses DIR/<the first of data_dirnames that exists>.
data_root = 'data/coco_object'
data_dirnames = ['coco_object', 'COCOObject']
test_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='images/val2017', seg_map_path='annotations/val2017')))

model = dict(class_names='coco_object', num_classes=81, coarse_thresh=0.05)
