"""The built-in benchmarks: one :class:`~radseg.dataset_facts.DatasetFacts` entry each, registered
in :mod:`radseg.dataset_registry` (with the 25 MESS entries of :mod:`radseg.data.mess`).

Everything else (``RADSegConfig.preset``, the sweep, the results tables, the
data tools, the mmseg datasets, the tests that pin ``configs_mmseg/`` and the
tests' data generator) reads these names and numbers through the registry
(:func:`get_dataset`, :func:`radseg.dataset_registry.dataset_names`). ALGORITHM.md
sections 7 and 9 are the source of the paper's presets, DATASETS.md of the
layouts, EXTRA_BENCHMARKS.md of ADE-847 / PC-459. docs/ADD_BENCHMARK.md is the
checklist for a new entry.

No torch / mmseg imports: cheap to import from any entry point.
"""
from __future__ import annotations

from typing import Dict, Tuple

from .dataset_facts import GROUPS, RESOLUTIONS, DatasetFacts, Preset, Scale, check_resolution, make_presets
from .dataset_registry import get_dataset, register_dataset

__all__ = ["DATASETS", "DATASET_ORDER", "DEFAULT_COARSE_THRESH", "DatasetFacts", "EXTRA_DATASETS",
           "GROUPS", "LONG_DATASETS", "PAPER_DATASETS", "Preset", "RESOLUTIONS", "Scale",
           "check_resolution", "datasets_in_group", "get_dataset"]

_presets = make_presets  # (low, mid, high) -> {resolution: Preset}

_VOC_PRESETS = _presets(((2048, 336), 224, 112), ((2048, 336), 336, 112), ((2016, 672), 336, 224))
_CONTEXT_PRESETS = _presets(((2048, 336), 224, 112), ((4096, 576), 336, 224), ((2016, 672), 336, 224))
_COCO_PRESETS = _presets(((2048, 336), 224, 112), ((2048, 448), 336, 224), ((1334, 896), 336, 224))
_CITYSCAPES_PRESETS = _presets(((2048, 560), 224, 112), ((2048, 688), 336, 224), ((2688, 1344), 336, 224))
_ADE_PRESETS = _presets(((2048, 336), 224, 112), ((2048, 576), 336, 224), ((2016, 672), 336, 224))

# Shared layouts (mmseg's prepared folders, DATASETS.md section 8).
_VOC = dict(data_dirnames=("VOC2012", "VOCdevkit/VOC2012"), presets=_VOC_PRESETS, coarse_thresh=0.2,
            img_dir="JPEGImages", img_suffix=".jpg", label_dir="SegmentationClass", label_suffix=".png",
            split_file="ImageSets/Segmentation/val.txt", val_count=1449, max_label=20, ignore_values=(255,),
            label_palette=True, converter="link:prepare_link", name_pattern="2008_{:06d}",
            raw_hint="the VOCdevkit/VOC2012 folder extracted from VOCtrainval_11-May-2012.tar")
_CONTEXT = dict(data_dirnames=("VOCdevkit/VOC2010", "VOC2010"), presets=_CONTEXT_PRESETS, coarse_thresh=0.15,
                img_dir="JPEGImages", img_suffix=".jpg", label_dir="SegmentationClassContext",
                label_suffix=".png", split_file="ImageSets/SegmentationContext/val.txt", val_count=5104,
                max_label=59, ignore_values=(), converter="pascal_context:prepare_pascal_context",
                name_pattern="2008_{:06d}")
_COCO = dict(presets=_COCO_PRESETS, coarse_thresh=0.05, img_dir="images/val2017", img_suffix=".jpg",
             label_dir="annotations/val2017", split_file=None, val_count=5000, converter="coco:prepare_coco",
             name_pattern="{:012d}", name_start=139)

#: Every benchmark, siblings together (the data tools' order); the paper's five are in the
#: paper's column order. The extras' presets and coarse_thresh follow their sibling benchmark,
#: then the long-vocabulary ones.
DATASETS: Dict[str, DatasetFacts] = {d.key: d for d in (
    DatasetFacts(key="voc20", title="VOC20", num_classes=20, class_names="voc20", group="paper",
                 dataset_type="PascalVOC20Dataset", reduce_zero_label=True, bench_name="voc",
                 bench_image_size=(375, 500), present_classes=3, **_VOC),
    DatasetFacts(key="voc21", title="VOC21", num_classes=21, class_names="voc21", group="extra",
                 dataset_type="PascalVOCDataset", reduce_zero_label=False, **_VOC),
    DatasetFacts(key="context59", title="Context59", num_classes=59, class_names="context59", group="paper",
                 dataset_type="PascalContext59Dataset", reduce_zero_label=True, bench_name="context",
                 bench_image_size=(375, 500), present_classes=8, **_CONTEXT),
    DatasetFacts(key="context60", title="Context60", num_classes=60, class_names="context60", group="extra",
                 dataset_type="PascalContextDataset", reduce_zero_label=False, **_CONTEXT),
    DatasetFacts(key="coco_stuff164k", title="COCO-Stuff", num_classes=171, class_names="coco_stuff164k",
                 group="paper", dataset_type="COCOStuffDataset", data_dirnames=("coco_stuff164k", "COCOStuff"),
                 label_suffix="_labelTrainIds.png", max_label=170, ignore_values=(255,),
                 reduce_zero_label=False, bench_name="coco_stuff", bench_image_size=(480, 640), present_classes=8,
                 **_COCO),
    DatasetFacts(key="coco_object", title="COCO-Object", num_classes=81, class_names="coco_object",
                 group="extra", dataset_type="COCOObjectDataset", data_dirnames=("coco_object", "COCOObject"),
                 label_suffix="_instanceTrainIds.png", max_label=80, ignore_values=(), reduce_zero_label=False,
                 raw_from="coco_stuff164k", **_COCO),
    DatasetFacts(key="cityscapes", title="Cityscapes", num_classes=19, class_names="cityscapes", group="paper",
                 dataset_type="CityscapesDataset", coarse_thresh=0.10, data_dirnames=("cityscapes", "CityScapes"),
                 presets=_CITYSCAPES_PRESETS, img_dir="leftImg8bit/val", img_suffix="_leftImg8bit.png",
                 label_dir="gtFine/val", label_suffix="_gtFine_labelTrainIds.png", split_file=None,
                 val_count=500, max_label=18, ignore_values=(255,), reduce_zero_label=False,
                 converter="cityscapes:prepare_cityscapes", name_pattern="frankfurt/frankfurt_000000_{:06d}",
                 bench_name="cityscapes", bench_image_size=(1024, 2048), present_classes=12),
    DatasetFacts(key="ade20k", title="ADE20K", num_classes=150, class_names="ade20k", group="paper",
                 dataset_type="ADE20KDataset", coarse_thresh=0.05,
                 data_dirnames=("ADEChallengeData2016", "ade/ADEChallengeData2016"), presets=_ADE_PRESETS,
                 img_dir="images/validation", img_suffix=".jpg", label_dir="annotations/validation",
                 label_suffix=".png", split_file=None, val_count=2000, max_label=150, ignore_values=(),
                 reduce_zero_label=True, converter="link:prepare_link", name_pattern="ADE_val_{:08d}",
                 name_start=1, raw_hint="the ADEChallengeData2016 folder extracted from ADEChallengeData2016.zip",
                 bench_name="ade20k", bench_image_size=(512, 683), present_classes=10),
    # Long vocabularies (EXTRA_BENCHMARKS.md sections 1-2): 16-bit TIFF labels, 65535 = unlabeled.
    # Presets by the toolkit's rule for the images' source: ADE20K's for ADE-847, Context59's for PC-459.
    DatasetFacts(key="ade847", title="ADE-847", num_classes=847, class_names="ade847", group="long",
                 dataset_type="BenchmarkTableDataset", coarse_thresh=0.05, data_dirnames=("ADE20K_2021_17_01",),
                 presets=_ADE_PRESETS, img_dir="images_detectron2/validation", img_suffix=".jpg",
                 label_dir="annotations_detectron2/validation", label_suffix=".tif", split_file=None,
                 val_count=2000, max_label=846, ignore_values=(65535,), label_dtype="uint16",
                 reduce_zero_label=False, converter="ade847:prepare_ade847", name_pattern="ADE_val_{:08d}",
                 name_start=1),
    DatasetFacts(key="pc459", title="PC-459", num_classes=459, class_names="pc459", group="long",
                 dataset_type="BenchmarkTableDataset", coarse_thresh=0.15,
                 data_dirnames=("VOCdevkit/VOC2010", "VOC2010"), presets=_CONTEXT_PRESETS, img_dir="JPEGImages",
                 img_suffix=".jpg", label_dir="annotations_detectron2/pc459_val", label_suffix=".tif",
                 split_file="ImageSets/SegmentationContext/pc459_val.txt", val_count=5104, max_label=458,
                 ignore_values=(65535,), label_dtype="uint16", reduce_zero_label=False,
                 converter="pc459:prepare_pc459", name_pattern="2008_{:06d}"),
)}


def datasets_in_group(group: str) -> Tuple[str, ...]:
    """The keys of one group (:data:`radseg.dataset_facts.GROUPS`), in table order."""
    return tuple(k for k, d in DATASETS.items() if d.group == group)


#: The paper's datasets, in its table's column order.
PAPER_DATASETS: Tuple[str, ...] = datasets_in_group("paper")
#: The other common zero-shot benchmarks (the sweep's ``extra`` group).
EXTRA_DATASETS: Tuple[str, ...] = datasets_in_group("extra")
#: The long-vocabulary benchmarks ADE-847 and PC-459 (the sweep's ``long`` group).
LONG_DATASETS: Tuple[str, ...] = datasets_in_group("long")
#: All benchmark keys, paper first, in table order.
DATASET_ORDER: Tuple[str, ...] = tuple(k for g in GROUPS for k in datasets_in_group(g))
#: The built-in benchmarks only; every registered dataset (MESS, a user's own):
#: :func:`radseg.dataset_registry.dataset_names`. ``get_dataset`` (re-exported) covers them all.

#: ``coarse_thresh`` when a config names none (ALGORITHM.md section 7).
DEFAULT_COARSE_THRESH = 0.10


for _facts in DATASETS.values():
    register_dataset(_facts)
del _facts
