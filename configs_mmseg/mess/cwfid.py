# MESS CWFID (Agriculture and Biology): 3 classes, 21 images; MESS name cwfid_sem_seg_test.
_base_ = '../_base_/mess.py'
# Split rule: images/ holds all NNN_image.png, annotations_detectron2/test the 21 test labels; the
# names both share are the test split (MESS's load_sem_seg intersection, radseg.data.mess.pair_files).

benchmark = 'cwfid'
# Folder under the data directory MESS prepared ($DETECTRON2_DATASETS); eval.py --data-root DIR.
data_root = 'data/cwfid'
data_dirnames = ['cwfid']
test_dataloader = dict(
    dataset=dict(
        entry='cwfid',
        data_root=data_root,
        data_prefix=dict(img_path='images', seg_map_path='annotations_detectron2/test'),
        img_suffix='image.png',
        seg_map_suffix='annotation.png'))

model = dict(class_names='mess/cwfid', num_classes=3)
