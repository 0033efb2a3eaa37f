# MESS Corrosion CS (Engineering): 4 classes, 44 images; MESS name corrosion_cs_sem_seg_test.
_base_ = '../_base_/mess.py'

benchmark = 'corrosion_cs'
# Folder under the data directory MESS prepared ($DETECTRON2_DATASETS); eval.py --data-root DIR.
data_root = 'data/Corrosion Condition State Classification'
data_dirnames = ['Corrosion Condition State Classification']
test_dataloader = dict(
    dataset=dict(
        entry='corrosion_cs',
        data_root=data_root,
        data_prefix=dict(img_path='original/Test/images', seg_map_path='original/Test/masks'),
        img_suffix='jpeg',
        seg_map_suffix='png'))

model = dict(class_names='mess/corrosion_cs', num_classes=4)
