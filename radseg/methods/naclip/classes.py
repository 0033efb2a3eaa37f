"""NACLIP's class prompts: class files read by the release's rule, queries and their class index.

The release (``naclip.py``) reads ``configs/cls_<bench>.txt``: line *i* is class *i*; the line is
split on the exact string ``", "`` into synonyms and ``"\\n"`` is removed, nothing else (Context60's
``"wood "`` keeps its trailing space; COCO-Object's ``bed`` is both a background word and a class).
Each synonym is one query with ``query_idx = i``. The release's files are under
``radseg/class_names/naclip/`` (key ``naclip/<dataset>``). Any other class file or key (RADSeg's
prompts under ``--protocol radseg``, a user's file) is read by the toolkit's own rule
(:func:`radseg.class_names.load_class_names`); a list is taken as given (synonyms as lists or
joined by ``|``).
"""
from __future__ import annotations

from typing import List, Sequence, Tuple, Union

from ...class_names import BUILTIN_DIR, load_class_names, read_text_file, resolve_class_file

ClassList = List[List[str]]

#: the release's own class files (section 3.1), read verbatim
RELEASE_DIR = BUILTIN_DIR / "naclip"


def read_release_class_file(path) -> ClassList:
    """The release's rule: one class per line, synonyms split on ``", "``, only ``\\n`` removed."""
    text = read_text_file(path)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines = lines[:-1]
    return [line.split(", ") for line in lines]


def load_classes(classes: Union[str, Sequence], file_only: bool = False) -> ClassList:
    """A class-file key or path (``naclip/voc21``, ``voc20``, ``my.txt``), a labels string or a list -> synonyms.

    ``file_only`` (the ``class_names`` setting): a string must name a file; an unknown one is a
    :class:`~radseg.errors.ClassNamesError` listing the built-in keys.
    """
    if isinstance(classes, str):
        try:
            path = resolve_class_file(classes)
        except Exception:
            if file_only:
                raise
            path = None
        if path is not None:
            if path.resolve().parent == RELEASE_DIR.resolve():
                return read_release_class_file(path)
            return load_class_names(classes)
    from ...predictor import parse_classes
    return parse_classes(classes)


def queries(classes: ClassList) -> Tuple[List[str], List[int]]:
    """Synonym lists -> ``(query words, query_idx)``: every synonym is its own query of class ``i``."""
    words, idx = [], []
    for i, syns in enumerate(classes):
        for s in syns:
            words.append(s)
            idx.append(i)
    return words, idx
