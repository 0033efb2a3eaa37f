# MESS iSAID (Earth Monitoring): 16 classes, 4055 images, 1024 x 1024 tiles; MESS name isaid_sem_seg_val.
_base_ = '../_base_/mess.py'

benchmark = 'isaid'
# Folder under the data directory MESS prepared ($DETECTRON2_DATASETS); eval.py --data-root DIR.
data_root = 'data/isaid'
data_dirnames = ['isaid']
test_dataloader = dict(
    dataset=dict(
        entry='isaid',
        data_root=data_root,
        data_prefix=dict(img_path='images_detectron2/val', seg_map_path='annotations_detectron2/val'),
        img_suffix='png',
        seg_map_suffix='png'))

model = dict(class_names='mess/isaid', num_classes=16)
