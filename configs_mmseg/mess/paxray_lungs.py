# MESS PAXRay-Lungs (Medical Sciences): 2 classes, 180 images; MESS name paxray_sem_seg_test_lungs.
_base_ = '../_base_/mess.py'

benchmark = 'paxray_lungs'
# Folder under the data directory MESS prepared ($DETECTRON2_DATASETS); eval.py --data-root DIR.
data_root = 'data/paxray_dataset'
data_dirnames = ['paxray_dataset']
test_dataloader = dict(
    dataset=dict(
        entry='paxray_lungs',
        data_root=data_root,
        data_prefix=dict(img_path='images_detectron2/test', seg_map_path='annotations_detectron2/test/lungs'),
        img_suffix='png',
        seg_map_suffix='png'))

model = dict(class_names='mess/paxray_lungs', num_classes=2)
