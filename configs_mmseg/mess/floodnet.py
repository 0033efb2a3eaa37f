# MESS FloodNet (Earth Monitoring): 10 classes, 5571 images, 1024 x 1024 tiles; MESS name floodnet_sem_seg_test.
_base_ = '../_base_/mess.py'

benchmark = 'floodnet'
# Folder under the data directory MESS prepared ($DETECTRON2_DATASETS); eval.py --data-root DIR.
data_root = 'data/FloodNet-Supervised_v1.0'
data_dirnames = ['FloodNet-Supervised_v1.0']
test_dataloader = dict(
    dataset=dict(
        entry='floodnet',
        data_root=data_root,
        data_prefix=dict(img_path='images_detectron2/test', seg_map_path='annotations_detectron2/test'),
        img_suffix='.jpg',
        seg_map_suffix='.png'))

model = dict(class_names='mess/floodnet', num_classes=10)
