# MESS CUB-200 (Agriculture and Biology): 201 classes, 5794 images; MESS name cub_200_sem_seg_test.
_base_ = '../_base_/mess.py'

benchmark = 'cub_200'
# Folder under the data directory MESS prepared ($DETECTRON2_DATASETS); eval.py --data-root DIR.
data_root = 'data/CUB_200_2011'
data_dirnames = ['CUB_200_2011']
test_dataloader = dict(
    dataset=dict(
        entry='cub_200',
        data_root=data_root,
        data_prefix=dict(img_path='images_detectron2/test', seg_map_path='annotations_detectron2/test'),
        img_suffix='jpg',
        seg_map_suffix='png'))

model = dict(class_names='mess/cub_200', num_classes=201)
