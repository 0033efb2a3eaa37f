# PASCAL VOC 2012 with background (VOC21), 1449 val images.
# Not in the RADSeg paper; coarse_thresh and presets follow voc20.
_base_ = ['../default_runtime.py', '../radseg_model.py', '../test_loader.py']

benchmark = 'voc21'
dataset_type = 'PascalVOCDataset'
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

model = dict(class_names='voc21', num_classes=21, coarse_thresh=0.2)
