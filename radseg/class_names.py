"""Class-name (prompt) files: one class per line, synonyms on one line.

The reference RADSeg files separate synonyms with ``", "``; Trident's files
(VOC21, Context60, COCO-Object backgrounds) use ``"; "``. A line holding
``";"`` is split on ``";"``, otherwise on ``","``. The literature's long-vocabulary
prompt files (:data:`SEMICOLON_ONLY_FILES`: ADE-847, PC-459, by file name) are read
as ProxyCLIP / CorrCLIPv2 read them: split on ``"; "`` only, so a comma is part of
the name (``building, edifice`` is one prompt; EXTRA_BENCHMARKS.md section 1.3). Each synonym is stripped of
surrounding whitespace (Context60's last line is ``"wood "`` in the source).

Validation (files and ``radseg segment --labels``): the file must be UTF-8 text
(a binary or non-UTF-8 file is an error naming the line); every name must be
non-empty and hold a letter or digit; a name may appear only once, compared
after trimming, collapsing inner whitespace and case-folding, within a class
and across classes. The one exception is a duplicate that the reference's own
built-in file carries (COCO-Object's background lists ``bed``, also class 60):
it is kept so that the numbers stay the reference's.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Union

from .errors import ClassNamesError, ConfigError

#: class names as the front door takes them: ``"sky, dog|puppy"``, ``["sky", "dog|puppy"]`` or synonym lists
ClassesLike = Union[str, Sequence[Union[str, Sequence[str]]]]

BUILTIN_DIR = Path(__file__).parent / "class_names"

#: duplicates the reference's built-in files carry (kept for faithful numbers): file -> names.
REFERENCE_DUPLICATES = {"coco_object.txt": {"bed"}}

#: Prompt files split on ``"; "`` only (the literature's ``get_cls_idx``): the built-in
#: ADE-847 / PC-459 files and the literature's own file names, wherever they lie.
SEMICOLON_ONLY_FILES = frozenset({"ade847.txt", "pc459.txt", "cls_ade20k847.txt", "cls_context459.txt"})


def normalize_name(name: str) -> str:
    """The form names are compared in: trimmed, inner whitespace collapsed, case-folded."""
    return " ".join(str(name).split()).casefold()


def check_duplicates(classes: Sequence[Sequence[str]], where, allowed: Iterable[str] = ()) -> None:
    """Raise :class:`ClassNamesError` if a name repeats (within a class or across classes).

    ``where(i)`` describes class ``i`` (0-based) for the message, e.g. ``"file.txt: line 3"``.
    """
    allowed = {normalize_name(a) for a in allowed}
    first = {}
    for i, syns in enumerate(classes):
        seen_here = set()
        for s in syns:
            key = normalize_name(s)
            if key in seen_here:
                raise ClassNamesError(f"{where(i)}: '{s}' appears twice in one class; list each synonym once.")
            seen_here.add(key)
            if key in first and key not in allowed:
                raise ClassNamesError(
                    f"{where(i)}: '{s}' is also {where(first[key]).split(': ', 1)[-1]} (names are compared "
                    f"ignoring case and spaces); each name may stand for one class only: remove or rename one.")
            first.setdefault(key, i)


def _check_name(name: str, where: str) -> None:
    if not name:
        raise ClassNamesError(f"{where} has an empty name.")
    if not any(ch.isalnum() for ch in name):
        raise ClassNamesError(f"{where}: '{name}' is not a name (it has no letter or digit).")


def builtin_class_files() -> List[str]:
    """Names of the class-name files shipped with the package (``voc20``, ...)."""
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.txt"))


def resolve_class_file(name_or_path: str) -> Path:
    """A built-in key (``"voc20"``) or a path -> an existing file path."""
    p = Path(os.path.expanduser(str(name_or_path)))
    if p.is_file():
        return p
    if p.is_dir():
        raise ClassNamesError(f"class-name file '{name_or_path}' is a folder; give a text file with one "
                              f"class per line.")
    builtin = BUILTIN_DIR / f"{name_or_path}.txt"
    if builtin.is_file():
        return builtin
    raise ClassNamesError(
        f"class-name file '{name_or_path}' not found. Give a path to a text file with one "
        f"class per line, or one of the built-in names: {', '.join(builtin_class_files())}.")


def parse_class_line(line: str, semicolon_only: bool = False) -> List[str]:
    """``"sky; wall"`` or ``"sky, wall"`` -> ``["sky", "wall"]`` (synonyms of one class).

    A line mixing both separators is ambiguous and rejected. ``semicolon_only``: split on
    ``"; "`` only (commas belong to the name), as the literature's prompt files are read.
    """
    if semicolon_only:
        return [s.strip() for s in line.split("; ")]
    if ";" in line and "," in line:
        raise ClassNamesError(f"'{line}' mixes ',' and ';': separate the synonyms of one class with "
                              f"one of them.")
    sep = ";" if ";" in line else ","
    return [s.strip() for s in line.split(sep)]


def parse_class_names(lines: Sequence[str], source: str = "<list>",
                      allowed_duplicates: Iterable[str] = (), semicolon_only: bool = False) -> List[List[str]]:
    """Lines -> list (one per class) of synonym lists; validates every line (see module doc)."""
    classes = []
    for i, raw in enumerate(lines, 1):
        line = raw.rstrip("\r\n")
        if not line.strip():
            raise ClassNamesError(
                f"{source}: line {i} is empty. Each line must name one class "
                f"(synonyms separated by ', ' or '; '); remove blank lines.")
        try:
            syns = parse_class_line(line, semicolon_only)
        except ClassNamesError as e:
            raise ClassNamesError(f"{source}: line {i}: {e}") from None
        if any(not s for s in syns):
            raise ClassNamesError(f"{source}: line {i} ('{line}') has an empty synonym.")
        for s in syns:
            _check_name(s, f"{source}: line {i}")
        classes.append(syns)
    if not classes:
        raise ClassNamesError(f"{source}: no class names found.")
    check_duplicates(classes, lambda k: f"{source}: line {k + 1}", allowed_duplicates)
    return classes


def read_text_file(path: Path, what: str = "class-name file") -> str:
    """UTF-8 text of ``path`` (a BOM is dropped); binary or non-UTF-8 files are a clear error."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ClassNamesError(f"cannot read {what} '{path}' ({e.strerror or e}).") from None
    if b"\x00" in data:
        line = data[:data.index(b"\x00")].count(b"\n") + 1
        raise ClassNamesError(f"{what} '{path}' is a binary file (a NUL byte on line {line}), not text; "
                              f"give a UTF-8 text file with one class per line.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise ClassNamesError(f"{what} '{path}': line {line} is not UTF-8 text (byte 0x{data[e.start]:02x}); "
                              f"save the file as UTF-8.") from None
    return text[1:] if text.startswith("\ufeff") else text


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
    text = read_text_file(path)
    lines = text.split("\n")
    while lines and not lines[-1].strip():  # trailing newlines / blank lines at the end are fine
        lines = lines[:-1]
    allowed = REFERENCE_DUPLICATES.get(path.name, ()) if path.parent.resolve() == BUILTIN_DIR.resolve() else ()
    classes = parse_class_names(lines, source=str(path), allowed_duplicates=allowed,
                                semicolon_only=path.name in SEMICOLON_ONLY_FILES)
    if num_classes is not None and len(classes) != num_classes:
        what = f"the dataset {dataset}" if dataset else "the dataset"
        raise ClassNamesError(
            f"{path}: has {len(classes)} classes but {what} has {num_classes}. "
            f"The file needs one line per dataset class, in the dataset's class order.")
    return classes


def split_labels(text: str) -> List[List[str]]:
    """Free text for the single-image command: ``"sky, grass; lawn, sheep"``.

    Classes are separated by ``","``; synonyms of one class by ``"|"``. Empty names,
    a ``|``-only entry, names without a letter or digit and repeated names (ignoring case
    and spaces) are errors.
    """
    hint = "give a comma-separated list of class names, e.g. \"sky, grass, sheep\" (synonyms of one " \
           "class joined by '|')"
    parts = [p.strip() for p in text.split(",")]
    if not parts or any(not p for p in parts):
        raise ClassNamesError(f"--labels '{text}' has an empty class name: {hint}.")
    classes = []
    for i, p in enumerate(parts, 1):
        syns = [s.strip() for s in p.split("|")]
        if not any(syns):
            raise ClassNamesError(f"--labels '{text}': class {i} is '{p}', with no name: {hint}.")
        if any(not s for s in syns):
            raise ClassNamesError(f"--labels '{text}': class {i} ('{p}') has an empty synonym: {hint}.")
        for s in syns:
            _check_name(s, f"--labels '{text}': class {i}")
        classes.append(syns)
    check_duplicates(classes, lambda k: f"--labels: class {k + 1} ('{parts[k]}')")
    return classes


def parse_classes(classes: ClassesLike) -> List[List[str]]:
    """``"sky, dog|puppy"`` or ``["sky", "dog|puppy"]`` or ``[["sky"], ["dog", "puppy"]]`` ->
    synonym lists, validated like class files (no empty or duplicate names)."""
    if isinstance(classes, str):
        return split_labels(classes)
    if classes is None or len(classes) == 0:
        raise ConfigError("no classes given: pass a list of class names, e.g. ['sky', 'dog'].")
    out = []
    for c in classes:
        if isinstance(c, str):
            syns = [s.strip() for s in c.split("|")]
        else:
            syns = [str(s).strip() for s in c]
        if not syns or not all(s and any(ch.isalnum() for ch in s) for s in syns):
            raise ConfigError(f"class {c!r} has an empty name; give each class a name (synonyms joined by |).")
        out.append(syns)
    check_duplicates(out, lambda i: f"class {i + 1} ('{out[i][0]}')")
    return out
