"""Benchmark dataset classes mmseg 1.2.2 lacks, registered in mmseg's DATASETS.

mmseg's own classes are used for VOC21 (``PascalVOCDataset``), Context60
(``PascalContextDataset``), Context59 (``PascalContextDataset59``),
COCO-Stuff164k (``COCOStuffDataset``), Cityscapes and ADE20K.
"""
from __future__ import annotations

from mmseg.datasets import BaseSegDataset, PascalContextDataset59, PascalVOCDataset
from mmseg.registry import DATASETS

VOC20_CLASSES = PascalVOCDataset.METAINFO["classes"][1:]
VOC20_PALETTE = PascalVOCDataset.METAINFO["palette"][1:]


@DATASETS.register_module()
class PascalVOC20Dataset(BaseSegDataset):
    """PASCAL VOC 2012 without background: 20 classes, ``reduce_zero_label=True``.

    Same files as VOC21 (``JPEGImages/*.jpg``, ``SegmentationClass/*.png``,
    ``ImageSets/Segmentation/val.txt``); background (0) becomes 255 = ignored.
    """
    METAINFO = dict(classes=VOC20_CLASSES, palette=VOC20_PALETTE)

    def __init__(self, ann_file: str, img_suffix=".jpg", seg_map_suffix=".png",
                 reduce_zero_label=True, **kwargs) -> None:
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix,
                         reduce_zero_label=reduce_zero_label, ann_file=ann_file, **kwargs)


@DATASETS.register_module()
class PascalContext59Dataset(PascalContextDataset59):
    """Trident's name for mmseg's ``PascalContextDataset59`` (59 classes, reduce_zero_label)."""


COCO_THINGS = ("person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
               "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat",
               "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack",
               "umbrella", "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball",
               "kite", "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket",
               "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
               "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair",
               "couch", "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse",
               "remote", "keyboard", "cell phone", "microwave", "oven", "toaster", "sink",
               "refrigerator", "book", "clock", "vase", "scissors", "teddy bear", "hair drier",
               "toothbrush")


def _palette(n: int):
    """A fixed, distinct-enough palette (index -> RGB) for ``n`` classes."""
    return [[(i * 67) % 256, (i * 131 + 50) % 256, (i * 197 + 100) % 256] for i in range(n)]


@DATASETS.register_module()
class COCOObjectDataset(BaseSegDataset):
    """COCO-Object: background + the 80 COCO things, labels ``<id>_instanceTrainIds.png`` (0..80)."""
    METAINFO = dict(classes=("background",) + COCO_THINGS, palette=_palette(81))

    def __init__(self, img_suffix=".jpg", seg_map_suffix="_instanceTrainIds.png",
                 reduce_zero_label=False, **kwargs) -> None:
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix,
                         reduce_zero_label=reduce_zero_label, **kwargs)
