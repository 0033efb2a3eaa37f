# MESS PAXRay-Mediastinum (Medical Sciences): 2 classes, 180 images; MESS name paxray_sem_seg_test_mediastinum.
_base_ = '../_base_/mess.py'

benchmark = 'paxray_mediastinum'
# Folder under the data directory MESS prepared ($DETECTRON2_DATASETS); eval.py --data-root DIR.
data_root = 'data/paxray_dataset'
data_dirnames = ['paxray_dataset']
test_dataloader = dict(
    dataset=dict(
        entry='paxray_mediastinum',
        data_root=data_root,
        data_prefix=dict(img_path='images_detectron2/test', seg_map_path='annotations_detectron2/test/mediastinum'),
        img_suffix='png',
        seg_map_suffix='png'))

model = dict(class_names='mess/paxray_mediastinum', num_classes=2)
