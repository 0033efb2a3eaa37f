"""What one benchmark dataset is: :class:`DatasetFacts`, one entry of the dataset table.

Every entry is registered in :mod:`radseg.dataset_registry` (``register_dataset`` /
``get_dataset`` / ``dataset_names``); this module holds only the entry's type, so that
other modules (the benchmarks of :mod:`radseg.presets`, the MESS family, a user's own
dataset) can define entries without importing each other. Everything about a
dataset is here, and the rest of the toolkit reads it: the presets
(``RADSegConfig.preset``, the sweep, the results tables), the data tools
(``radseg data prepare|verify``: folders, suffixes, split file, count, label
values), the mmseg side (the dataset type, 16-bit labels, reduce_zero_label;
``tests/test_configs.py`` checks the literal config files against the entry)
and the tests' data generator (``tests/datagen.py``). docs/ADD_BENCHMARK.md is
the checklist for a new entry.

No torch / mmseg imports: cheap to import from any entry point.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Mapping, Optional, Tuple

#: The resolution presets, low to high (the configs' folder names).
RESOLUTIONS: Tuple[str, ...] = ("low_res", "mid_res", "high_res")

#: The groups a dataset belongs to (the sweep's ``--datasets`` groups; results order).
#: ``mess``: the 25 MESS entries, a family defined in :mod:`radseg.data.mess` (``MESS_FACTS``);
#: ``own``: a user's own dataset registered with :func:`radseg.dataset_registry.register_dataset`.
GROUPS: Tuple[str, ...] = ("paper", "extra", "long", "mess", "own")

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


def make_presets(low: Tuple[Scale, int, int], mid: Tuple[Scale, int, int],
                 high: Tuple[Scale, int, int]) -> Dict[str, Preset]:
    """``{"low_res": Preset(...), "mid_res": ..., "high_res": ...}`` from three (scale, crop, stride)."""
    return {r: Preset(*p) for r, p in zip(RESOLUTIONS, (low, mid, high))}


@dataclass(frozen=True)
class DatasetFacts:
    """One benchmark: everything the toolkit needs to know about it, in one entry.

    Identity and model side:
      ``key`` (config file stem, ``benchmark`` key), ``title`` (tables), ``num_classes``,
      ``class_names`` (built-in class-name file stem in ``radseg/class_names/``),
      ``coarse_thresh`` (RADSeg+'s uncertain-pixel threshold), ``presets`` (per resolution),
      ``group`` (one of :data:`GROUPS`: ``paper`` = in the paper's table).
    Prepared layout (paths relative to the dataset root ``<data dir>/<data_dirnames[0]>``):
      ``data_dirnames`` (accepted root folder names, the default first), ``img_dir`` /
      ``img_suffix``, ``label_dir`` / ``label_suffix``, ``split_file`` (mmseg ``ann_file``, one
      basename per line; ``None``: mmseg scans ``img_dir`` recursively), ``val_count`` (the
      official val split's size).
    Label conventions (the files on disk):
      ``max_label`` (largest class value), ``ignore_values`` (other values allowed on disk,
      meaning "unlabeled": ``(255,)``, ``(65535,)`` or ``()``), ``label_dtype`` (``"uint8"``:
      PNG 'L'/'P'; ``"uint16"``: TIFF 'I;16', loaded losslessly), ``label_palette`` (palette PNGs,
      VOC), ``reduce_zero_label`` (mmseg: 0 -> 255, v -> v-1).
    mmseg side: ``dataset_type`` (the registered dataset class the configs name).
    Preparation: ``converter`` (``"module:function"`` in :mod:`radseg.data` that builds the layout
      from the download), ``raw_from`` (the dataset whose folder is the default download folder).
    Test data: ``name_pattern`` / ``name_start`` (``name_pattern.format(name_start + i)`` is the
      ``i``-th generated file name, in the dataset's own naming).
    Pairing: ``pairing`` ``"mmseg"`` (``split_file`` or mmseg's recursive scan) or ``"mess"``
      (MESS's ``load_sem_seg``: flat folders, the names both share; :func:`radseg.data.mess.pair_files`).
    Optional, for the tools that need them:
      ``raw_hint`` (``prepare_link``'s "pass --raw ..." text: what the download folder is; default:
      the root folder), ``bench_name`` / ``bench_image_size`` (``radseg bench``'s preset stem, e.g.
      ``voc`` -> ``voc_mid``, and a typical image ``(H0, W0)`` in pixels; ``None``: not a bench
      preset), ``present_classes`` (classes present per image in the bench's ``peaked`` RADSeg+
      workload; ``None``: 8, at most ``num_classes``).
    """
    key: str
    title: str
    num_classes: int
    class_names: str
    coarse_thresh: float
    data_dirnames: Tuple[str, ...]
    presets: Mapping[str, Preset]
    group: str
    dataset_type: str
    img_dir: str
    img_suffix: str
    label_dir: str
    label_suffix: str
    split_file: Optional[str]
    val_count: int
    max_label: int
    ignore_values: Tuple[int, ...]
    reduce_zero_label: bool
    converter: str
    name_pattern: str
    name_start: int = 0
    label_dtype: str = "uint8"
    label_palette: bool = False
    raw_from: Optional[str] = None
    pairing: str = "mmseg"
    raw_hint: str = ""
    bench_name: Optional[str] = None
    bench_image_size: Optional[Tuple[int, int]] = None
    present_classes: Optional[int] = None

    def __post_init__(self):
        if self.group not in GROUPS:
            raise ValueError(f"{self.key}: group '{self.group}' is not one of {GROUPS}")
        if self.label_dtype not in ("uint8", "uint16"):
            raise ValueError(f"{self.key}: label_dtype must be uint8 or uint16")
        top = 255 if self.label_dtype == "uint8" else 65535
        if not all(0 <= v <= top for v in (self.max_label,) + tuple(self.ignore_values)):
            raise ValueError(f"{self.key}: label values must fit {self.label_dtype}")

    @property
    def paper(self) -> bool:
        """In the paper's table."""
        return self.group == "paper"

    @property
    def root(self) -> str:
        """The default dataset folder under the data dir."""
        return self.data_dirnames[0]

    @property
    def label_bits(self) -> int:
        return 16 if self.label_dtype == "uint16" else 8

    def label_values(self) -> Tuple[int, ...]:
        """Every value a label file may hold: ``0..max_label`` and the ``ignore_values``."""
        return tuple(range(self.max_label + 1)) + tuple(self.ignore_values)

    @property
    def alt_roots(self) -> Tuple[str, ...]:
        """Other accepted root folder names (mmseg's, Trident's), tried after :attr:`root`."""
        return tuple(self.data_dirnames[1:])

    @property
    def allows_255(self) -> bool:
        """255 (ignore) may appear in an 8-bit label."""
        return 255 in self.ignore_values

    @property
    def values_text(self) -> str:
        """Allowed on-disk values as text, e.g. ``"0..20 and 255"``."""
        return f"0..{self.max_label}" + "".join(f" and {v}" for v in self.ignore_values)

    def allowed_values(self):
        """A boolean numpy array over every value of the label dtype (256 or 65536 long):
        which values may appear on disk."""
        import numpy as np

        ok = np.zeros(65536 if self.label_dtype == "uint16" else 256, dtype=bool)
        ok[: self.max_label + 1] = True
        ok[list(self.ignore_values)] = True
        return ok

    def preset(self, resolution: str) -> Preset:
        """The preset ``resolution`` (``low_res|mid_res|high_res``, or the entry's own, e.g. MESS's ``mess``)."""
        if resolution in self.presets:
            return self.presets[resolution]
        if set(self.presets) <= set(RESOLUTIONS):  # the three standard presets: the standard message
            return self.presets[check_resolution(resolution)]
        from .errors import ConfigError
        raise ConfigError(f"dataset '{self.key}' has no preset '{resolution}': use {', '.join(self.presets)}.")


def check_resolution(resolution: str) -> str:
    """``resolution`` if it is one of :data:`RESOLUTIONS`, else a :class:`radseg.errors.ConfigError`."""
    from .errors import ConfigError
    if resolution not in RESOLUTIONS:
        raise ConfigError(f"unknown resolution preset '{resolution}': use one of {', '.join(RESOLUTIONS)}.")
    return resolution
