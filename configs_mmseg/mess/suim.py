# MESS SUIM (Agriculture and Biology): 8 classes, 110 images; MESS name suim_sem_seg_test.
_base_ = '../_base_/mess.py'

benchmark = 'suim'
# Folder under the data directory MESS prepared ($DETECTRON2_DATASETS); eval.py --data-root DIR.
data_root = 'data/SUIM'
data_dirnames = ['SUIM']
test_dataloader = dict(
    dataset=dict(
        entry='suim',
        data_root=data_root,
        data_prefix=dict(img_path='TEST/images', seg_map_path='annotations_detectron2/test'),
        img_suffix='jpg',
        seg_map_suffix='png'))

model = dict(class_names='mess/suim', num_classes=8)
