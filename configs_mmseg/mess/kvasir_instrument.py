# MESS Kvasir-Instrument (Medical Sciences): 2 classes, 118 images; MESS name kvasir_instrument_sem_seg_test.
_base_ = '../_base_/mess.py'

benchmark = 'kvasir_instrument'
# Folder under the data directory MESS prepared ($DETECTRON2_DATASETS); eval.py --data-root DIR.
data_root = 'data/kvasir-instrument'
data_dirnames = ['kvasir-instrument']
test_dataloader = dict(
    dataset=dict(
        entry='kvasir_instrument',
        data_root=data_root,
        data_prefix=dict(img_path='images_detectron2/test', seg_map_path='annotations_detectron2/test'),
        img_suffix='png',
        seg_map_suffix='png'))

model = dict(class_names='mess/kvasir_instrument', num_classes=2)
