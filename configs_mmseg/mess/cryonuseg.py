# MESS CryoNuSeg (Medical Sciences): 2 classes, 30 images; MESS name cryonuseg_sem_seg_test.
_base_ = '../_base_/mess.py'

benchmark = 'cryonuseg'
# Folder under the data directory MESS prepared ($DETECTRON2_DATASETS); eval.py --data-root DIR.
data_root = 'data/CryoNuSeg'
data_dirnames = ['CryoNuSeg']
test_dataloader = dict(
    dataset=dict(
        entry='cryonuseg',
        data_root=data_root,
        data_prefix=dict(img_path='images_detectron2', seg_map_path='annotations_detectron2'),
        img_suffix='png',
        seg_map_suffix='png'))

model = dict(class_names='mess/cryonuseg', num_classes=2)
