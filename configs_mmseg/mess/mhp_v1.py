# MESS MHP v1 (General): 19 classes, 980 images; MESS name mhp_v1_sem_seg_test.
_base_ = '../_base_/mess.py'

benchmark = 'mhp_v1'
# Folder under the data directory MESS prepared ($DETECTRON2_DATASETS); eval.py --data-root DIR.
data_root = 'data/LV-MHP-v1'
data_dirnames = ['LV-MHP-v1']
test_dataloader = dict(
    dataset=dict(
        entry='mhp_v1',
        data_root=data_root,
        data_prefix=dict(img_path='images_detectron2/test', seg_map_path='annotations_detectron2/test'),
        img_suffix='jpg',
        seg_map_suffix='png'))

model = dict(class_names='mess/mhp_v1', num_classes=19)
