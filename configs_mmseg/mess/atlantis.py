# MESS ATLANTIS (General): 56 classes, 1295 images; MESS name atlantis_sem_seg_test.
_base_ = '../_base_/mess.py'

benchmark = 'atlantis'
# Folder under the data directory MESS prepared ($DETECTRON2_DATASETS); eval.py --data-root DIR.
data_root = 'data/atlantis'
data_dirnames = ['atlantis']
test_dataloader = dict(
    dataset=dict(
        entry='atlantis',
        data_root=data_root,
        data_prefix=dict(img_path='images_detectron2/test', seg_map_path='annotations_detectron2/test'),
        img_suffix='jpg',
        seg_map_suffix='png'))

model = dict(class_names='mess/atlantis', num_classes=56)
