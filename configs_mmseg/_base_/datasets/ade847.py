# ADE20K-847 (ADE-847): 847 classes, 2000 val images, 16-bit TIFF labels (65535 = unlabeled),
# as CAT-Seg's converter makes them (`radseg data prepare ade847`; docs/DATA.md).
_base_ = ['../default_runtime.py', '../radseg_model.py', '../test_loader.py']

benchmark = 'ade847'
dataset_type = 'BenchmarkTableDataset'  # classes, suffixes from the dataset table (radseg/presets.py)
# Folder under the data directory (default: <repo>/data); eval.py --data-root DIR
# uses DIR/<the first of data_dirnames that exists>.
data_root = 'data/ADE20K_2021_17_01'
data_dirnames = ['ADE20K_2021_17_01']
test_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        benchmark=benchmark,
        data_root=data_root,
        data_prefix=dict(img_path='images_detectron2/validation',
                         seg_map_path='annotations_detectron2/validation'),
        img_suffix='.jpg',
        seg_map_suffix='.tif',
        reduce_zero_label=False))

# The metric's ignore value (eval.py --label-ignore): 'literature' = ignore_index 255, as
# ProxyCLIP/Trident/CorrCLIPv2 evaluate (65535 pixels are not masked: their predictions count
# in the union; class 255 'pier' is masked); '65535' = ignore the unlabeled pixels (correct).
label_ignore = 'literature'
test_evaluator = dict(ignore_index=255, allowed_label_values=[65535])

model = dict(class_names='ade847', num_classes=847, coarse_thresh=0.05)
