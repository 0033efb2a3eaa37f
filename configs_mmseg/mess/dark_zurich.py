# MESS Dark Zurich (General): 20 classes, 50 images; MESS name dark_zurich_sem_seg_val.
_base_ = '../_base_/mess.py'

benchmark = 'dark_zurich'
# Folder under the data directory MESS prepared ($DETECTRON2_DATASETS); eval.py --data-root DIR.
data_root = 'data/Dark_Zurich'
data_dirnames = ['Dark_Zurich']
test_dataloader = dict(
    dataset=dict(
        entry='dark_zurich',
        data_root=data_root,
        data_prefix=dict(img_path='rgb_anon/val/night/GOPR0356', seg_map_path='annotations_detectron2/val'),
        img_suffix='_rgb_anon.png',
        seg_map_suffix='_gt_labelIds.png'))

model = dict(class_names='mess/dark_zurich', num_classes=20)
