# MESS FoodSeg103 (General): 104 classes, 2125 images; MESS name foodseg103_sem_seg_test.
_base_ = '../_base_/mess.py'

benchmark = 'foodseg103'
# Folder under the data directory MESS prepared ($DETECTRON2_DATASETS); eval.py --data-root DIR.
data_root = 'data/FoodSeg103'
data_dirnames = ['FoodSeg103']
test_dataloader = dict(
    dataset=dict(
        entry='foodseg103',
        data_root=data_root,
        data_prefix=dict(img_path='Images/img_dir/test', seg_map_path='Images/ann_dir/test'),
        img_suffix='jpg',
        seg_map_suffix='png'))

model = dict(class_names='mess/foodseg103', num_classes=104)
