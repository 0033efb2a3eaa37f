"""The MESS benchmark's 25 evaluation entries (22 datasets, PAXRay as four parts): one table.

Every fact is transcribed from the ``mess-benchmark`` 0.2 package (== blumenstiel/MESS@cc701b5
``mess/``; docs EXTRA_BENCHMARKS.md section 3): folders and file endings from
``mess/datasets/register_<ds>.py``, counts from ``check_datasets()`` in
``mess/prepare_all_datasets.py``, titles and domains from ``mess/evaluation/mess_evaluation.py``,
download modes from the prepare scripts. ``tests/test_mess.py`` checks the table against the
installed package (registrations, class names, pairing) so a transcription error fails.

Paths: ``<data dir>/<root>/<img_dir>`` etc., where the data dir is MESS's ``$DETECTRON2_DATASETS``
(the folder ``mess/prepare_all_datasets.py --dataset_dir`` filled). Labels are 8-bit PNGs holding
class indices, 255 = ignore, for every entry.

:func:`pair_files` is MESS's pairing rule (``mess.utils.data.load_sem_seg``): the files of each
folder (not recursive) that end with the entry's ending; when the counts differ, the names both
share (this is CWFID's split rule: ``images/`` holds all 60 ``NNN_image.png``, the test labels are
the 21 ``NNN_annotation.png``).

No mmseg / mmengine / mmcv imports here.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

#: The preset every MESS entry uses (the configs' folder, the records' ``resolution``).
MESS_PRESET = "mess"
#: Resize scale and sliding windows of that preset (docs/MESS.md says why; configs_mmseg/_base_/mess.py).
MESS_SCALE = (2048, 448)
MESS_SLIDE_CROP = 336
MESS_SLIDE_STRIDE = 224

#: MESS's five domains, in its table's order.
DOMAINS: Tuple[str, ...] = ("General", "Earth Monitoring", "Medical Sciences", "Engineering",
                            "Agriculture and Biology")
#: The ignore value of every MESS label (``ignore_label`` of all 25 registrations).
IGNORE_INDEX = 255

MANUAL = "manual"
SCRIPT = "script"


@dataclass(frozen=True)
class MessEntry:
    """One MESS evaluation entry.

    ``key``: the toolkit's name (the registered name up to ``_sem_seg``, PAXRay with its part);
    ``registered``: MESS's detectron2 name; ``root``: the dataset's top folder under the data
    dir; ``img_dir`` / ``label_dir``: relative to ``root``; ``img_ext`` / ``label_ext``: MESS's
    file endings as registered (``'jpg'`` matches ``x.jpg``; CWFID's ``'image.png'``);
    ``count``: images MESS's own check expects; ``tiled``: cut into 1024 x 1024 tiles by the
    prepare script (image pad 0, label pad 255); ``download``: ``manual`` (registration or a
    website download first) or ``script`` (the prepare script downloads it); ``how``: the
    manual step.
    """

    key: str
    registered: str
    title: str
    domain: str
    root: str
    img_dir: str
    img_ext: str
    label_dir: str
    label_ext: str
    num_classes: int
    count: int
    prepare: str
    download: str = SCRIPT
    how: str = ""
    tiled: bool = False

    @property
    def dataset(self) -> str:
        """The MESS dataset this entry belongs to (``paxray`` for the four PAXRay parts)."""
        return "paxray" if self.key.startswith("paxray_") else self.key

    @property
    def class_file(self) -> str:
        """The built-in class-name file (``radseg/class_names/mess/<key>.txt``)."""
        return f"mess/{self.key}"

    @property
    def prepare_command(self) -> str:
        return f"DETECTRON2_DATASETS=<data dir> python -m mess.prepare_datasets.{self.prepare}"


def _e(key, registered, title, domain, root, img_dir, img_ext, label_dir, label_ext, num_classes, count,
       prepare, download=SCRIPT, how="", tiled=False) -> MessEntry:
    return MessEntry(key, registered, title, domain, root, img_dir, img_ext, label_dir, label_ext,
                     num_classes, count, prepare, download, how, tiled)


_G, _E, _M, _N, _A = DOMAINS
_PAX = "paxray_dataset"

#: The 25 entries, in MESS's table order (``mess_evaluation.py`` ``dataset_names``).
MESS_ENTRIES: Dict[str, MessEntry] = {e.key: e for e in (
    _e("bdd100k", "bdd100k_sem_seg_val", "BDD100K", _G, "bdd100k", "images/10k/val", "jpg",
       "annotations_detectron2/val", "png", 19, 1000, "prepare_bdd100k", MANUAL,
       "register at https://bdd-data.berkeley.edu/, download bdd100k_images_10k.zip and "
       "bdd100k_sem_seg_labels_trainval.zip into the data dir"),
    _e("dark_zurich", "dark_zurich_sem_seg_val", "Dark Zurich", _G, "Dark_Zurich",
       "rgb_anon/val/night/GOPR0356", "_rgb_anon.png", "annotations_detectron2/val", "_gt_labelIds.png",
       20, 50, "prepare_dark_zurich"),
    _e("mhp_v1", "mhp_v1_sem_seg_test", "MHP v1", _G, "LV-MHP-v1", "images_detectron2/test", "jpg",
       "annotations_detectron2/test", "png", 19, 980, "prepare_mhp_v1"),
    _e("foodseg103", "foodseg103_sem_seg_test", "FoodSeg103", _G, "FoodSeg103", "Images/img_dir/test", "jpg",
       "Images/ann_dir/test", "png", 104, 2125, "prepare_foodseg"),
    _e("atlantis", "atlantis_sem_seg_test", "ATLANTIS", _G, "atlantis", "images_detectron2/test", "jpg",
       "annotations_detectron2/test", "png", 56, 1295, "prepare_atlantis"),
    _e("dram", "dram_sem_seg_test", "DRAM", _G, "DRAM_processed", "images_detectron2/test", "jpg",
       "annotations_detectron2/test", "png", 12, 718, "prepare_dram", how="needs `unrar` installed"),
    _e("isaid", "isaid_sem_seg_val", "iSAID", _E, "isaid", "images_detectron2/val", "png",
       "annotations_detectron2/val", "png", 16, 4055, "prepare_isaid", tiled=True),
    _e("isprs_potsdam", "isprs_potsdam_sem_seg_test_irrg", "ISPRS Potsdam", _E, "ISPRS_Potsdam",
       "images_detectron2/test/irrg", "png", "annotations_detectron2/test", "png", 6, 504,
       "prepare_isprs_potsdam", MANUAL,
       "request Potsdam.zip at https://www.isprs.org/education/benchmarks/UrbanSemLab/default.aspx "
       "and put it into the data dir", tiled=True),
    _e("worldfloods", "worldfloods_sem_seg_test_irrg", "WorldFloods", _E, "WorldFloods",
       "images_detectron2/test/irrg", "png", "annotations_detectron2/test", "png", 3, 160,
       "prepare_worldfloods", how="needs `rasterio` installed", tiled=True),
    _e("floodnet", "floodnet_sem_seg_test", "FloodNet", _E, "FloodNet-Supervised_v1.0",
       "images_detectron2/test", ".jpg", "annotations_detectron2/test", ".png", 10, 5571,
       "prepare_floodnet", MANUAL,
       "download the folder https://drive.google.com/drive/folders/1leN9eWVQcvWDVYwNb2GCo5ML_wBEycWD "
       "into the data dir", tiled=True),
    _e("uavid", "uavid_sem_seg_val", "UAVid", _E, "uavid_v1.5", "images_detectron2/val", "png",
       "annotations_detectron2/val", "png", 8, 840, "prepare_uavid", MANUAL,
       "register at https://uavid.nl and put the zip into the project root", tiled=True),
    _e("kvasir_instrument", "kvasir_instrument_sem_seg_test", "Kvasir-Instrument", _M, "kvasir-instrument",
       "images_detectron2/test", "png", "annotations_detectron2/test", "png", 2, 118,
       "prepare_kvasir_instrument"),
    _e("chase_db1", "chase_db1_sem_seg_test", "CHASE DB1", _M, "CHASEDB1", "images_detectron2/test", "jpg",
       "annotations_detectron2/test", "png", 2, 20, "prepare_chase_db1"),
    _e("cryonuseg", "cryonuseg_sem_seg_test", "CryoNuSeg", _M, "CryoNuSeg", "images_detectron2", "png",
       "annotations_detectron2", "png", 2, 30, "prepare_cryonuseg", MANUAL,
       "download the archive from https://www.kaggle.com/datasets/ipateam/"
       "segmentation-of-nuclei-in-cryosectioned-he-images (a Kaggle account, no API key) and put the "
       "unzipped archive/ into the project root or the data dir"),
    *(_e(f"paxray_{part}", f"paxray_sem_seg_test_{part}", f"PAXRay-{part.capitalize()}", _M, _PAX,
         "images_detectron2/test", "png", f"annotations_detectron2/test/{part}", "png", 2, 180,
         "prepare_paxray") for part in ("lungs", "bones", "mediastinum", "diaphragm")),
    _e("corrosion_cs", "corrosion_cs_sem_seg_test", "Corrosion CS", _N,
       "Corrosion Condition State Classification", "original/Test/images", "jpeg", "original/Test/masks",
       "png", 4, 44, "prepare_corrosion_cs"),
    _e("deepcrack", "deepcrack_sem_seg_test", "DeepCrack", _N, "DeepCrack", "test_img", "jpg",
       "annotations_detectron2/test", "png", 2, 237, "prepare_deepcrack"),
    _e("pst900", "pst900_sem_seg_test", "PST900", _N, "PST900_RGBT_Dataset", "test/thermal", "png",
       "test/labels", "png", 5, 288, "prepare_pst900"),
    _e("zerowaste", "zerowaste_sem_seg_test", "ZeroWaste-f", _N, "zerowaste-f",
       "splits_final_deblurred/test/data", "PNG", "splits_final_deblurred/test/sem_seg", "PNG", 5, 929,
       "prepare_zerowaste"),
    _e("suim", "suim_sem_seg_test", "SUIM", _A, "SUIM", "TEST/images", "jpg", "annotations_detectron2/test",
       "png", 8, 110, "prepare_suim"),
    _e("cub_200", "cub_200_sem_seg_test", "CUB-200", _A, "CUB_200_2011", "images_detectron2/test", "jpg",
       "annotations_detectron2/test", "png", 201, 5794, "prepare_cub_200"),
    _e("cwfid", "cwfid_sem_seg_test", "CWFID", _A, "cwfid", "images", "image.png", "annotations_detectron2/test",
       "annotation.png", 3, 21, "prepare_cwfid"),
)}

#: Entry keys in MESS's order.
MESS_KEYS: Tuple[str, ...] = tuple(MESS_ENTRIES)
#: The four PAXRay parts, averaged into PAXRay-4.
PAXRAY_PARTS: Tuple[str, ...] = tuple(k for k in MESS_KEYS if k.startswith("paxray_"))
#: The 22 datasets (PAXRay once, as ``paxray``), in MESS's order.
MESS_DATASETS: Tuple[str, ...] = tuple(dict.fromkeys(MESS_ENTRIES[k].dataset for k in MESS_KEYS))
#: Display titles of the 22 datasets.
DATASET_TITLES: Dict[str, str] = {**{k: e.title for k, e in MESS_ENTRIES.items()}, "paxray": "PAXRay-4"}
#: Domain of each of the 22 datasets.
DATASET_DOMAINS: Dict[str, str] = {e.dataset: e.domain for e in MESS_ENTRIES.values()}


def _facts(e: MessEntry):
    """The entry as a dataset-table entry (:class:`radseg.dataset_facts.DatasetFacts`), group ``mess``."""
    from ..dataset_facts import DatasetFacts, Preset
    return DatasetFacts(
        key=e.key, title=e.title, num_classes=e.num_classes, class_names=e.class_file, coarse_thresh=0.10,
        data_dirnames=(e.root,), presets={MESS_PRESET: Preset(MESS_SCALE, MESS_SLIDE_CROP, MESS_SLIDE_STRIDE)},
        group="mess", dataset_type="MESSDataset", img_dir=e.img_dir, img_suffix=e.img_ext, label_dir=e.label_dir,
        label_suffix=e.label_ext, split_file=None, val_count=e.count, max_label=e.num_classes - 1,
        ignore_values=(IGNORE_INDEX,), reduce_zero_label=False, converter="", name_pattern="img_{:04d}.",
        pairing="mess")


#: The 25 entries as dataset-table entries, registered in :mod:`radseg.dataset_registry`
#: (what ``get_dataset``, ``RADSegConfig.preset(key, "mess")``, ``radseg data`` and the verifier read).
MESS_FACTS = {k: _facts(e) for k, e in MESS_ENTRIES.items()}


def _register() -> None:
    from ..dataset_registry import register_dataset
    for f in MESS_FACTS.values():
        register_dataset(f)


_register()


def get_entry(key: str) -> MessEntry:
    """The entry ``key``; an unknown key is a :class:`radseg.errors.DatasetError`."""
    from ..errors import DatasetError
    try:
        return MESS_ENTRIES[key]
    except KeyError:
        raise DatasetError(f"unknown MESS entry '{key}': use one of {', '.join(MESS_KEYS)}.") from None


# -- MESS's pairing rule ----------------------------------------------------------------------------

class MessPairs(NamedTuple):
    """What :func:`pair_files` found. ``pairs``: ``(name, image path, label path)`` sorted by name;
    ``n_images`` / ``n_labels``: files with the endings in each folder; ``mismatched``: names
    of images and labels that do not match although the counts are equal (MESS would pair them
    by sorted position without noticing)."""

    pairs: List[Tuple[str, Path, Path]]
    n_images: int
    n_labels: int
    mismatched: List[str]

    @property
    def intersected(self) -> bool:
        """The counts differ, so MESS (and this rule) keeps the shared names only."""
        return self.n_images != self.n_labels


def _files(folder: Path, ext: str) -> List[str]:
    """Names in ``folder`` (not recursive) ending with ``ext``, as ``iopath``'s ``ls`` + ``endswith``
    in ``load_sem_seg``; folders are skipped."""
    return sorted(f for f in os.listdir(folder) if f.endswith(ext) and (folder / f).is_file())


def pair_files(img_dir: Path, label_dir: Path, img_ext: str, label_ext: str) -> MessPairs:
    """MESS's ``load_sem_seg`` on two folders (both must exist).

    The name of a file is its basename without the ending. With as many images as labels,
    MESS zips the two sorted lists; here the pairs are matched by name and any name without a
    partner is reported in ``mismatched`` (a broken folder: MESS would score wrong pairs).
    With different counts, the names present in both folders, sorted (MESS's intersection).
    """
    img_dir, label_dir = Path(img_dir), Path(label_dir)
    imgs, lbls = _files(img_dir, img_ext), _files(label_dir, label_ext)
    img_names = {f[: -len(img_ext)]: f for f in imgs}
    lbl_names = {f[: -len(label_ext)]: f for f in lbls}
    shared = sorted(set(img_names) & set(lbl_names))
    mismatched = sorted(set(img_names) ^ set(lbl_names)) if len(imgs) == len(lbls) else []
    pairs = [(n, img_dir / img_names[n], label_dir / lbl_names[n]) for n in shared]
    return MessPairs(pairs, len(imgs), len(lbls), mismatched)


def missing_entries(data_dir: Path, keys: Optional[Sequence[str]] = None) -> List[MessEntry]:
    """The entries whose image or label folder does not exist under ``data_dir``."""
    out = []
    for k in keys or MESS_KEYS:
        e = MESS_ENTRIES[k]
        root = Path(data_dir) / e.root
        if not ((root / e.img_dir).is_dir() and (root / e.label_dir).is_dir()):
            out.append(e)
    return out


def how_to_get(e: MessEntry) -> str:
    """One line: how to prepare entry ``e`` with MESS's own scripts (``pip install mess-benchmark``)."""
    step = f"{e.how}; then " if e.how else ""
    kind = "manual download" if e.download == MANUAL else "downloaded by the script"
    return f"{e.key} ({kind}): {step}run `{e.prepare_command}`"
