"""Benchmark dataset classes mmseg 1.2.2 lacks, registered in mmseg's DATASETS.

mmseg's own classes are used for VOC21 (``PascalVOCDataset``), Context60
(``PascalContextDataset``), Context59 (``PascalContextDataset59``),
COCO-Stuff164k (``COCOStuffDataset``), Cityscapes and ADE20K. Which class a
benchmark uses is its dataset-table entry's ``dataset_type``
(:mod:`radseg.presets`); :class:`BenchmarkTableDataset` is the generic one for
new benchmarks, driven by that entry.
"""
from __future__ import annotations

from typing import Optional

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


def class_titles(class_file: str):
    """One name per class for tables and per-class metrics: the lines of a class-name file."""
    from ..class_names import read_text_file, resolve_class_file
    lines = read_text_file(resolve_class_file(class_file)).split("\n")
    return tuple(line.strip() for line in lines if line.strip())


@DATASETS.register_module()
class BenchmarkTableDataset(BaseSegDataset):
    """A benchmark from the dataset table (:data:`radseg.presets.DATASETS`), by its ``benchmark`` key.

    Classes are the lines of the entry's class-name file (``radseg/class_names/<file>.txt``);
    ``img_suffix``, ``seg_map_suffix`` and ``reduce_zero_label`` default to the entry's (the
    configs spell them out, and ``tests/test_configs.py`` checks they agree with the table).
    ``ignore_index`` is the entry's first ignore value (stored only: the metric has its own).
    """
    METAINFO: dict = dict()  # no fixed classes: mmseg would build a label_map from a mismatch

    def __init__(self, benchmark: str, img_suffix: Optional[str] = None, seg_map_suffix: Optional[str] = None,
                 reduce_zero_label: Optional[bool] = None, metainfo: Optional[dict] = None, **kwargs) -> None:
        from ..presets import get_dataset
        f = get_dataset(benchmark)
        self.benchmark = benchmark
        names = class_titles(f.class_names)
        meta = dict(classes=names, palette=_palette(len(names)))
        meta.update(metainfo or {})
        kwargs.setdefault("ignore_index", f.ignore_values[0] if f.ignore_values else 255)
        super().__init__(img_suffix=f.img_suffix if img_suffix is None else img_suffix,
                         seg_map_suffix=f.label_suffix if seg_map_suffix is None else seg_map_suffix,
                         reduce_zero_label=f.reduce_zero_label if reduce_zero_label is None else reduce_zero_label,
                         metainfo=meta, **kwargs)
