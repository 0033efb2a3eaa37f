# MESS UAVid (Earth Monitoring): 8 classes, 840 images, 1024 x 1024 tiles; MESS name uavid_sem_seg_val.
_base_ = '../_base_/mess.py'

benchmark = 'uavid'
# Folder under the data directory MESS prepared ($DETECTRON2_DATASETS); eval.py --data-root DIR.
data_root = 'data/uavid_v1.5'
data_dirnames = ['uavid_v1.5']
test_dataloader = dict(
    dataset=dict(
        entry='uavid',
        data_root=data_root,
        data_prefix=dict(img_path='images_detectron2/val', seg_map_path='annotations_detectron2/val'),
        img_suffix='png',
        seg_map_suffix='png'))

model = dict(class_names='mess/uavid', num_classes=8)
