"""One table of benchmark facts: the paper's datasets, resolution presets and data folders.

Everything else (``RADSegConfig.preset``, the sweep, the results tables, the
data tools, the tests that pin ``configs_mmseg/``) reads these names and
numbers from here. ALGORITHM.md sections 7 and 9 are the source.

No torch / mmseg imports: cheap to import from any entry point.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Mapping, Tuple

#: The resolution presets, low to high (the configs' folder names).
RESOLUTIONS: Tuple[str, ...] = ("low_res", "mid_res", "high_res")

Scale = Tuple[int, int]


@dataclass(frozen=True)
class Preset:
    """One resolution preset of one benchmark.

    ``scale``: mmseg ``Resize(scale=(long_max, short), keep_ratio=True)``, pixels;
    ``slide_crop`` / ``slide_stride``: sliding-window size and step, pixels.
    """
    scale: Scale
    slide_crop: int
    slide_stride: int


@dataclass(frozen=True)
class DatasetFacts:
    """What RADSeg needs to know about one benchmark.

    ``data_dirnames``: folder names under the data directory, the default first
    (mmseg's and Trident's layouts differ); ``coarse_thresh``: RADSeg+'s
    uncertain-pixel threshold; ``paper``: in the paper's table (else "extra").
    """
    key: str
    title: str
    num_classes: int
    class_names: str
    coarse_thresh: float
    data_dirnames: Tuple[str, ...]
    presets: Mapping[str, Preset]
    paper: bool = True

    def preset(self, resolution: str) -> Preset:
        return self.presets[check_resolution(resolution)]


def _presets(low: Tuple[Scale, int, int], mid: Tuple[Scale, int, int],
             high: Tuple[Scale, int, int]) -> Dict[str, Preset]:
    return {r: Preset(*p) for r, p in zip(RESOLUTIONS, (low, mid, high))}


_VOC = _presets(((2048, 336), 224, 112), ((2048, 336), 336, 112), ((2016, 672), 336, 224))
_CONTEXT = _presets(((2048, 336), 224, 112), ((4096, 576), 336, 224), ((2016, 672), 336, 224))
_COCO = _presets(((2048, 336), 224, 112), ((2048, 448), 336, 224), ((1334, 896), 336, 224))
_CITYSCAPES = _presets(((2048, 560), 224, 112), ((2048, 688), 336, 224), ((2688, 1344), 336, 224))
_ADE = _presets(((2048, 336), 224, 112), ((2048, 576), 336, 224), ((2016, 672), 336, 224))

#: Every benchmark, the paper's five first in the paper's column order.
DATASETS: Dict[str, DatasetFacts] = {d.key: d for d in (
    DatasetFacts("voc20", "VOC20", 20, "voc20", 0.2, ("VOC2012", "VOCdevkit/VOC2012"), _VOC),
    DatasetFacts("context59", "Context59", 59, "context59", 0.15, ("VOCdevkit/VOC2010", "VOC2010"), _CONTEXT),
    DatasetFacts("coco_stuff164k", "COCO-Stuff", 171, "coco_stuff164k", 0.05, ("coco_stuff164k", "COCOStuff"),
                 _COCO),
    DatasetFacts("cityscapes", "Cityscapes", 19, "cityscapes", 0.10, ("cityscapes", "CityScapes"), _CITYSCAPES),
    DatasetFacts("ade20k", "ADE20K", 150, "ade20k", 0.05, ("ADEChallengeData2016", "ade/ADEChallengeData2016"),
                 _ADE),
    # Not in the paper: presets and coarse_thresh follow their sibling benchmark.
    DatasetFacts("voc21", "VOC21", 21, "voc21", 0.2, ("VOC2012", "VOCdevkit/VOC2012"), _VOC, paper=False),
    DatasetFacts("context60", "Context60", 60, "context60", 0.15, ("VOCdevkit/VOC2010", "VOC2010"), _CONTEXT,
                 paper=False),
    DatasetFacts("coco_object", "COCO-Object", 81, "coco_object", 0.05, ("coco_object", "COCOObject"), _COCO,
                 paper=False),
)}

#: The paper's datasets, in its table's column order.
PAPER_DATASETS: Tuple[str, ...] = tuple(k for k, d in DATASETS.items() if d.paper)
#: The other common zero-shot benchmarks (the sweep's ``extra`` group).
EXTRA_DATASETS: Tuple[str, ...] = tuple(k for k, d in DATASETS.items() if not d.paper)
#: All benchmark keys, paper first.
DATASET_ORDER: Tuple[str, ...] = PAPER_DATASETS + EXTRA_DATASETS

#: ``coarse_thresh`` when a config names none (ALGORITHM.md section 7).
DEFAULT_COARSE_THRESH = 0.10


def check_resolution(resolution: str) -> str:
    from .errors import ConfigError
    if resolution not in RESOLUTIONS:
        raise ConfigError(f"unknown resolution preset '{resolution}': use one of {', '.join(RESOLUTIONS)}.")
    return resolution


def get_dataset(key: str) -> DatasetFacts:
    """The facts of benchmark ``key``; an unknown key is a :class:`radseg.errors.ConfigError`."""
    from .errors import ConfigError
    try:
        return DATASETS[key]
    except KeyError:
        raise ConfigError(f"unknown dataset '{key}': use one of {', '.join(DATASET_ORDER)}.") from None
