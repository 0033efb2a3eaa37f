# MESS ZeroWaste-f (Engineering): 5 classes, 929 images; MESS name zerowaste_sem_seg_test.
_base_ = '../_base_/mess.py'

benchmark = 'zerowaste'
# Folder under the data directory MESS prepared ($DETECTRON2_DATASETS); eval.py --data-root DIR.
data_root = 'data/zerowaste-f'
data_dirnames = ['zerowaste-f']
test_dataloader = dict(
    dataset=dict(
        entry='zerowaste',
        data_root=data_root,
        data_prefix=dict(img_path='splits_final_deblurred/test/data', seg_map_path='splits_final_deblurred/test/sem_seg'),
        img_suffix='PNG',
        seg_map_suffix='PNG'))

model = dict(class_names='mess/zerowaste', num_classes=5)
