"""Class-name (prompt) files: one class per line, synonyms on one line.

The reference RADSeg files separate synonyms with ``", "``; Trident's files
(VOC21, Context60, COCO-Object backgrounds) use ``"; "``. A line holding
``";"`` is split on ``";"``, otherwise on ``","``. Each synonym is stripped of
surrounding whitespace (Context60's last line is ``"wood "`` in the source).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import List, Optional, Sequence

from .errors import ClassNamesError

BUILTIN_DIR = Path(__file__).parent / "class_names"


def builtin_class_files() -> List[str]:
    """Names of the class-name files shipped with the package (``voc20``, ...)."""
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.txt"))


def resolve_class_file(name_or_path: str) -> Path:
    """A built-in key (``"voc20"``) or a path -> an existing file path."""
    p = Path(os.path.expanduser(str(name_or_path)))
    if p.is_file():
        return p
    builtin = BUILTIN_DIR / f"{name_or_path}.txt"
    if builtin.is_file():
        return builtin
    raise ClassNamesError(
        f"class-name file '{name_or_path}' not found. Give a path to a text file with one "
        f"class per line, or one of the built-in names: {', '.join(builtin_class_files())}.")


def parse_class_line(line: str) -> List[str]:
    """``"sky; wall"`` or ``"sky, wall"`` -> ``["sky", "wall"]`` (synonyms of one class).

    A line mixing both separators is ambiguous and rejected.
    """
    if ";" in line and "," in line:
        raise ClassNamesError(f"'{line}' mixes ',' and ';': separate the synonyms of one class with "
                              f"one of them.")
    sep = ";" if ";" in line else ","
    return [s.strip() for s in line.split(sep)]


def parse_class_names(lines: Sequence[str], source: str = "<list>") -> List[List[str]]:
    """Lines -> list (one per class) of synonym lists; validates every line."""
    classes = []
    for i, raw in enumerate(lines, 1):
        line = raw.rstrip("\r\n")
        if not line.strip():
            raise ClassNamesError(
                f"{source}: line {i} is empty. Each line must name one class "
                f"(synonyms separated by ', ' or '; '); remove blank lines.")
        try:
            syns = parse_class_line(line)
        except ClassNamesError as e:
            raise ClassNamesError(f"{source}: line {i}: {e}") from None
        if any(not s for s in syns):
            raise ClassNamesError(f"{source}: line {i} ('{line}') has an empty synonym.")
        classes.append(syns)
    if not classes:
        raise ClassNamesError(f"{source}: no class names found.")
    return classes


def load_class_names(name_or_path: str, num_classes: Optional[int] = None,
                     dataset: Optional[str] = None) -> List[List[str]]:
    """Read and validate a class-name file.

    Args:
        name_or_path: built-in key or file path.
        num_classes: if given, the file must have exactly this many lines.
        dataset: used in the error message.
    Returns:
        ``K`` lists of synonyms (``len(result) == K``).
    """
    path = resolve_class_file(name_or_path)
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    while lines and not lines[-1].strip():  # trailing newlines / blank lines at the end are fine
        lines = lines[:-1]
    classes = parse_class_names(lines, source=str(path))
    if num_classes is not None and len(classes) != num_classes:
        what = f"the dataset {dataset}" if dataset else "the dataset"
        raise ClassNamesError(
            f"{path}: has {len(classes)} classes but {what} has {num_classes}. "
            f"The file needs one line per dataset class, in the dataset's class order.")
    return classes


def split_labels(text: str) -> List[List[str]]:
    """Free text for the single-image command: ``"sky, grass; lawn, sheep"``.

    Classes are separated by ``","``; synonyms of one class by ``"|"``.
    """
    parts = [p.strip() for p in text.split(",")]
    if not parts or any(not p for p in parts):
        raise ClassNamesError(
            f"--labels '{text}': give a comma-separated list of class names, e.g. "
            f"\"sky, grass, sheep\" (synonyms of one class joined by '|').")
    return [[s.strip() for s in p.split("|") if s.strip()] for p in parts]
