# PASCAL-Context-459 (PC-459): 459 classes, 5104 val images (the Context val list), 16-bit
# TIFF labels made from Mottaghi's trainval/*.mat as CAT-Seg does (`radseg data prepare pc459`).
_base_ = ['../default_runtime.py', '../radseg_model.py', '../test_loader.py']

benchmark = 'pc459'
dataset_type = 'BenchmarkTableDataset'  # classes, suffixes from the dataset table (radseg/presets.py)
# Folder under the data directory (default: <repo>/data); eval.py --data-root DIR
# uses DIR/<the first of data_dirnames that exists>.
data_root = 'data/VOCdevkit/VOC2010'
data_dirnames = ['VOCdevkit/VOC2010', 'VOC2010']
test_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        benchmark=benchmark,
        data_root=data_root,
        data_prefix=dict(img_path='JPEGImages', seg_map_path='annotations_detectron2/pc459_val'),
        ann_file='ImageSets/SegmentationContext/pc459_val.txt',  # the val ids with a label
        img_suffix='.jpg',
        seg_map_suffix='.tif',
        reduce_zero_label=False))

# The metric's ignore value (eval.py --label-ignore): 'literature' = ignore_index 255, as
# ProxyCLIP/Trident/CorrCLIPv2 evaluate (65535 pixels are not masked: their predictions count
# in the union; class 255 'monkey' is masked); '65535' = ignore the unlabeled pixels (correct).
label_ignore = 'literature'
test_evaluator = dict(ignore_index=255, allowed_label_values=[65535])

model = dict(class_names='pc459', num_classes=459, coarse_thresh=0.15)
