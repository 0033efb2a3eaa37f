# MESS ISPRS Potsdam (Earth Monitoring): 6 classes, 504 images, 1024 x 1024 tiles; MESS name isprs_potsdam_sem_seg_test_irrg.
_base_ = '../_base_/mess.py'

benchmark = 'isprs_potsdam'
# Folder under the data directory MESS prepared ($DETECTRON2_DATASETS); eval.py --data-root DIR.
data_root = 'data/ISPRS_Potsdam'
data_dirnames = ['ISPRS_Potsdam']
test_dataloader = dict(
    dataset=dict(
        entry='isprs_potsdam',
        data_root=data_root,
        data_prefix=dict(img_path='images_detectron2/test/irrg', seg_map_path='annotations_detectron2/test'),
        img_suffix='png',
        seg_map_suffix='png'))

model = dict(class_names='mess/isprs_potsdam', num_classes=6)
