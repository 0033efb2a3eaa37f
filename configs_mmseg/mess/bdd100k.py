# MESS BDD100K (General): 19 classes, 1000 images; MESS name bdd100k_sem_seg_val.
_base_ = '../_base_/mess.py'

benchmark = 'bdd100k'
# Folder under the data directory MESS prepared ($DETECTRON2_DATASETS); eval.py --data-root DIR.
data_root = 'data/bdd100k'
data_dirnames = ['bdd100k']
test_dataloader = dict(
    dataset=dict(
        entry='bdd100k',
        data_root=data_root,
        data_prefix=dict(img_path='images/10k/val', seg_map_path='annotations_detectron2/val'),
        img_suffix='jpg',
        seg_map_suffix='png'))

model = dict(class_names='mess/bdd100k', num_classes=19)
