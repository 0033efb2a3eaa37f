"""Trident's class-name files (TRIDENT.md step 10): one class per line, queries separated by ``'; '``.

The built-in files are ``radseg/class_names/trident/<dataset>.txt`` (keys ``trident/voc21`` ...).
A line is split on ``'; '`` only, so a name holding ``', '`` stays one prompt (ADE-847). The
release's COCO-Object background line lists ``bed``, also class 60: kept, as the release has it.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Sequence, Union

from ...class_names import BUILTIN_DIR, load_class_names, parse_class_names, read_text_file, resolve_class_file

TRIDENT_CLASS_DIR = BUILTIN_DIR / "trident"
#: duplicates the release's own files carry (file name -> names)
RELEASE_DUPLICATES = {"coco_object.txt": {"bed"}}


def is_class_file(name: str) -> bool:
    """Whether ``name`` is a class-file path or a built-in key (``trident/voc21``, ``voc20``)."""
    try:
        resolve_class_file(name)
        return True
    except Exception:
        return False


def load_trident_classes(name_or_path: Union[str, Path]) -> List[List[str]]:
    """A class file -> ``K`` lists of queries. Trident's built-in files: split on ``'; '`` only (the release's
    reading); any other file: the toolkit's reading (:func:`radseg.class_names.load_class_names`)."""
    path = resolve_class_file(str(name_or_path))
    if path.resolve().parent != TRIDENT_CLASS_DIR.resolve():
        return load_class_names(str(path))
    lines = read_text_file(path).split("\n")
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return parse_class_names(lines, source=str(path), semicolon_only=True,
                             allowed_duplicates=RELEASE_DUPLICATES.get(path.name, ()))


def display_names(classes: Sequence[Sequence[str]]) -> List[str]:
    """The first query of each class (what a legend shows)."""
    return [c[0] for c in classes]
