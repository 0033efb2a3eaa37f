"""``MESSDataset``: one mmseg dataset class for the 25 MESS entries, driven by :mod:`radseg.data.mess`.

``entry`` picks the table row: its class names (the built-in file ``class_names/mess/<entry>.txt``,
equal to the ``mess-benchmark`` registration), ignore 255, no ``reduce_zero_label``. The files are
paired by MESS's rule (:func:`radseg.data.mess.pair_files`: flat folders, the file endings as MESS
registers them, the shared names when the counts differ, which gives CWFID's 21 test images).
``img_suffix`` / ``seg_map_suffix`` and ``data_prefix`` are the config's (literal in
``configs_mmseg/mess/<entry>.py``, checked against the table by ``tests/test_mess.py``).
"""
from __future__ import annotations

from pathlib import Path
from typing import List

from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from ..class_names import load_class_names
from ..data.mess import IGNORE_INDEX, get_entry, pair_files


def _palette(n: int):
    """A fixed palette (index -> RGB) for ``n`` classes."""
    return [[(i * 67) % 256, (i * 131 + 50) % 256, (i * 197 + 100) % 256] for i in range(n)]


def entry_classes(entry: str) -> tuple:
    """The entry's class names: the first synonym of each line of its built-in class-name file."""
    e = get_entry(entry)
    return tuple(syns[0] for syns in load_class_names(e.class_file, e.num_classes, dataset=e.key))


@DATASETS.register_module()
class MESSDataset(BaseSegDataset):
    """A MESS entry's test split; ``entry`` is a key of :data:`radseg.data.mess.MESS_ENTRIES`."""

    METAINFO = dict(classes=(), palette=[])

    def __init__(self, entry: str, img_suffix=None, seg_map_suffix=None, **kwargs) -> None:
        e = get_entry(entry)
        self.entry = e.key
        classes = entry_classes(e.key)
        kwargs.setdefault("metainfo", dict(classes=classes, palette=_palette(len(classes))))
        super().__init__(img_suffix=e.img_ext if img_suffix is None else img_suffix,
                         seg_map_suffix=e.label_ext if seg_map_suffix is None else seg_map_suffix,
                         reduce_zero_label=False, ignore_index=IGNORE_INDEX, **kwargs)

    @classmethod
    def get_label_map(cls, new_classes=None):
        """No remapping: the labels are indices of the entry's classes (METAINFO is per entry)."""
        return None

    def load_data_list(self) -> List[dict]:
        """One dict per pair, sorted by name (MESS's order of the shared names)."""
        img_dir = Path(self.data_prefix.get("img_path", ""))
        ann_dir = Path(self.data_prefix.get("seg_map_path", ""))
        found = pair_files(img_dir, ann_dir, self.img_suffix, self.seg_map_suffix)
        return [dict(img_path=str(img), seg_map_path=str(lbl), label_map=self.label_map,
                     reduce_zero_label=False, seg_fields=[]) for _, img, lbl in found.pairs]
