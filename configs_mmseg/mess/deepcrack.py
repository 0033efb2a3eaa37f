# MESS DeepCrack (Engineering): 2 classes, 237 images; MESS name deepcrack_sem_seg_test.
_base_ = '../_base_/mess.py'

benchmark = 'deepcrack'
# Folder under the data directory MESS prepared ($DETECTRON2_DATASETS); eval.py --data-root DIR.
data_root = 'data/DeepCrack'
data_dirnames = ['DeepCrack']
test_dataloader = dict(
    dataset=dict(
        entry='deepcrack',
        data_root=data_root,
        data_prefix=dict(img_path='test_img', seg_map_path='annotations_detectron2/test'),
        img_suffix='jpg',
        seg_map_suffix='png'))

model = dict(class_names='mess/deepcrack', num_classes=2)
