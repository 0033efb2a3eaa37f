# PASCAL VOC 2012 without background (VOC20), 1449 val images.
_base_ = ['../default_runtime.py', '../radseg_model.py', '../test_loader.py']

benchmark = 'voc20'
dataset_type = 'PascalVOC20Dataset'
# Folder under the data directory (default: <repo>/data); eval.py --data-root DIR
# uses DIR/<the first of data_dirnames that exists>.
data_root = 'data/VOC2012'
data_dirnames = ['VOC2012', 'VOCdevkit/VOC2012']
test_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
        ann_file='ImageSets/Segmentation/val.txt'))

model = dict(class_names='voc20', num_classes=20, coarse_thresh=0.2)
