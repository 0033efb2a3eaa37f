# MESS PST900 (Engineering): 5 classes, 288 images; MESS name pst900_sem_seg_test.
_base_ = '../_base_/mess.py'

benchmark = 'pst900'
# Folder under the data directory MESS prepared ($DETECTRON2_DATASETS); eval.py --data-root DIR.
data_root = 'data/PST900_RGBT_Dataset'
data_dirnames = ['PST900_RGBT_Dataset']
test_dataloader = dict(
    dataset=dict(
        entry='pst900',
        data_root=data_root,
        data_prefix=dict(img_path='test/thermal', seg_map_path='test/labels'),
        img_suffix='png',
        seg_map_suffix='png'))

model = dict(class_names='mess/pst900', num_classes=5)
