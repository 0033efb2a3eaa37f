# MESS WorldFloods (Earth Monitoring): 3 classes, 160 images, 1024 x 1024 tiles; MESS name worldfloods_sem_seg_test_irrg.
_base_ = '../_base_/mess.py'

benchmark = 'worldfloods'
# Folder under the data directory MESS prepared ($DETECTRON2_DATASETS); eval.py --data-root DIR.
data_root = 'data/WorldFloods'
data_dirnames = ['WorldFloods']
test_dataloader = dict(
    dataset=dict(
        entry='worldfloods',
        data_root=data_root,
        data_prefix=dict(img_path='images_detectron2/test/irrg', seg_map_path='annotations_detectron2/test'),
        img_suffix='png',
        seg_map_suffix='png'))

model = dict(class_names='mess/worldfloods', num_classes=3)
