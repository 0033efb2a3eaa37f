# PASCAL Context without background (Context59), 5104 val images.
_base_ = ['../default_runtime.py', '../radseg_model.py', '../test_loader.py']

benchmark = 'context59'
dataset_type = 'PascalContext59Dataset'
# Folder under the data directory (default: <repo>/data); eval.py --data-root DIR
# uses DIR/<the first of data_dirnames that exists>.
data_root = 'data/VOCdevkit/VOC2010'
data_dirnames = ['VOCdevkit/VOC2010', 'VOC2010']
test_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClassContext'),
        ann_file='ImageSets/SegmentationContext/val.txt'))

model = dict(class_names='context59', num_classes=59, coarse_thresh=0.15)
