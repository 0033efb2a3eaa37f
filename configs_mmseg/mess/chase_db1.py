# MESS CHASE DB1 (Medical Sciences): 2 classes, 20 images; MESS name chase_db1_sem_seg_test.
_base_ = '../_base_/mess.py'

benchmark = 'chase_db1'
# Folder under the data directory MESS prepared ($DETECTRON2_DATASETS); eval.py --data-root DIR.
data_root = 'data/CHASEDB1'
data_dirnames = ['CHASEDB1']
test_dataloader = dict(
    dataset=dict(
        entry='chase_db1',
        data_root=data_root,
        data_prefix=dict(img_path='images_detectron2/test', seg_map_path='annotations_detectron2/test'),
        img_suffix='jpg',
        seg_map_suffix='png'))

model = dict(class_names='mess/chase_db1', num_classes=2)
