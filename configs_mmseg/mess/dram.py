# MESS DRAM (General): 12 classes, 718 images; MESS name dram_sem_seg_test.
_base_ = '../_base_/mess.py'

benchmark = 'dram'
# Folder under the data directory MESS prepared ($DETECTRON2_DATASETS); eval.py --data-root DIR.
data_root = 'data/DRAM_processed'
data_dirnames = ['DRAM_processed']
test_dataloader = dict(
    dataset=dict(
        entry='dram',
        data_root=data_root,
        data_prefix=dict(img_path='images_detectron2/test', seg_map_path='annotations_detectron2/test'),
        img_suffix='jpg',
        seg_map_suffix='png'))

model = dict(class_names='mess/dram', num_classes=12)
