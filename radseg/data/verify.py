"""Check a prepared benchmark folder before evaluating on it (DATASETS.md section 8).

:func:`verify_dataset` returns a :class:`VerifyReport`. ``quick=True`` is the
part ``eval.py`` runs before loading models (seconds): folders exist, split file
readable and clean, at least one image, every image has its label file; every
image's and label's *header* (PIL opens lazily: size and mode, no decoding):
labels single-channel ('L' or 'P') and the same W x H as their image; the values
of a sample of labels (first, last, random others with a fixed seed) in the
benchmark's range; a sample of images decodes. The full check decodes every
label (PIL + ``np.array``: palette indices, never ``.convert``). Problems name
the file (relative to the dataset root).

A wrong image count is a warning (subsets are legitimate), an error with
``strict=True``. Everything else listed is an error: mmseg would crash mid-run
or score garbage.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..dataset_facts import DatasetFacts
from ..errors import DatasetError
from .benchmarks import PathLike, get_benchmark

#: At most this many names are listed per problem; the rest are counted.
MAX_NAMES = 10

LABEL_MODES = ("L", "P")
#: PIL modes of a 16-bit label file (a uint16 TIFF opens as 'I;16'; PIL variants of it).
LABEL_MODES_16 = ("I;16", "I;16B", "I;16L", "I;16N")


def format_names(names: Sequence[str], cap: int = MAX_NAMES) -> str:
    """``"a, b, c"`` or ``"a, b, ... (+N more)"``."""
    names = list(names)
    shown = ", ".join(names[:cap])
    if len(names) > cap:
        shown += f", ... (+{len(names) - cap} more)"
    return shown


def _plural(n: int, word: str, plural: Optional[str] = None) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {plural or word + 's'}"


@dataclass
class VerifyReport:
    """What :func:`verify_dataset` found. ``ok`` is True when there is no error."""

    key: str
    root: Path
    quick: bool = False
    strict: bool = False
    n_images: int = 0
    n_labels_checked: int = 0
    n_images_decoded: int = 0
    errors: List[str] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        """A short multi-line report: one status line, then one line per problem."""
        if self.quick:
            what = "quick check: pairs, every header"
            if self.n_labels_checked:
                what += (f", values of {_plural(self.n_labels_checked, 'label')}, "
                         f"{_plural(self.n_images_decoded, 'image')} decoded")
        elif self.n_labels_checked:
            what = f"full check: {self.n_labels_checked} labels decoded"
        else:
            what = "full check"
        if self.ok:
            head = (f"{self.key}: OK, {_plural(self.n_images, 'val image')} at {self.root} "
                    f"({what})")
            if self.warnings:
                head += f", {_plural(len(self.warnings), 'warning')}"
        else:
            head = (f"{self.key}: NOT USABLE, {_plural(len(self.errors), 'problem')} at {self.root} "
                    f"({what})")
        lines = [head]
        lines += [f"  error: {e}" for e in self.errors]
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def raise_for_errors(self) -> None:
        """Raise :class:`DatasetError` with the first error (one line) unless ``ok``."""
        if self.ok:
            return
        more = ""
        if len(self.errors) > 1:
            more = f" (+{len(self.errors) - 1} more problems)"
        raise DatasetError(
            f"{self.key} dataset at {self.root} is not usable: {self.errors[0]}{more}. "
            f"Full report: radseg data verify {self.key} {self.root}")


def _walk_files(top: Path, suffix: str) -> List[str]:
    """Relative paths (POSIX) of files under ``top`` ending in ``suffix``, sorted."""
    out = []
    for dirpath, dirnames, filenames in os.walk(top, followlinks=True):
        dirnames.sort()
        rel_dir = os.path.relpath(dirpath, top)
        for f in filenames:
            if f.endswith(suffix) and not f.startswith("."):
                rel = f if rel_dir == "." else os.path.join(rel_dir, f)
                out.append(rel.replace(os.sep, "/"))
    return sorted(out)


def read_split_file(path: Path) -> Tuple[List[str], List[str]]:
    """Names listed in an mmseg ``ann_file`` and the problems found in it.

    Reads like ``mmengine.list_from_file`` (one item per line, a final newline
    does not make an empty item). Blank lines, names with surrounding spaces and
    duplicates are problems (mmseg would look for ``JPEGImages/.jpg`` or score an
    image twice). Returned names skip blank lines and keep first occurrences.
    """
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise DatasetError(f"split file {path} cannot be read ({e}); re-create it with "
                           f"`radseg data prepare`.") from None
    lines = text.splitlines()
    problems = []
    blank = [i + 1 for i, line in enumerate(lines) if not line.strip()]
    if blank:
        problems.append(f"split file {path} has {_plural(len(blank), 'blank line')} "
                        f"(line {format_names([str(i) for i in blank])}): delete them")
    spaced = [line for line in lines if line.strip() and line != line.strip()]
    if spaced:
        problems.append(f"split file {path} has {_plural(len(spaced), 'name')} with leading/"
                        f"trailing spaces: {format_names([repr(s) for s in spaced])}; strip them")
    seen, names, dups = set(), [], []
    for line in lines:
        if not line.strip():
            continue
        if line in seen:
            dups.append(line)
            continue
        seen.add(line)
        names.append(line)
    if dups:
        problems.append(f"split file {path} lists {_plural(len(dups), 'name')} twice: "
                        f"{format_names(dups)}; keep one line per image")
    if not names and not problems:
        problems.append(f"split file {path} is empty")
    return names, problems


def _list_pairs(b: DatasetFacts, root: Path, rep: VerifyReport) -> List[Tuple[str, Path, Path]]:
    """(name, image path, label path) for every image that has both files.

    Appends structural errors (missing folders, split problems, missing files) to ``rep``.
    """
    prep = f"`radseg data prepare {b.key} --raw <download folder> --out <data dir>`"
    if b.pairing == "mess":
        from .mess import get_entry, how_to_get
        prep = f"MESS's preparation, {how_to_get(get_entry(b.key))}"
    if not root.is_dir():
        rep.errors.append(
            f"dataset root {root} not found: prepare it with {prep}, or pass the folder that "
            f"holds {b.img_dir}/ and {b.label_dir}/")
        return []
    img_dir, lbl_dir = root / b.img_dir, root / b.label_dir
    if not img_dir.is_dir():
        rep.errors.append(f"image folder {img_dir} not found: is {root} the {b.key} root? It must "
                          f"hold {b.img_dir}/ and {b.label_dir}/")
    if not lbl_dir.is_dir():
        rep.errors.append(f"label folder {lbl_dir} not found: create it with {prep}")
    if rep.errors:
        return []

    if b.pairing == "mess":
        return _mess_pairs(b, img_dir, lbl_dir, rep)
    missing_img: List[str] = []
    if b.split_file is not None:
        split = root / b.split_file
        if not split.is_file():
            rep.errors.append(f"split file {split} not found: create it with {prep}")
            return []
        try:
            names, problems = read_split_file(split)
        except DatasetError as e:
            rep.errors.append(str(e))
            return []
        rep.errors.extend(problems)
        where = f"listed in {b.split_file}"
        present = []
        for n in names:
            (present if (img_dir / (n + b.img_suffix)).is_file() else missing_img).append(n)
        rep.n_images = len(names)
        if missing_img:
            rep.errors.append(
                f"{_plural(len(missing_img), 'image')} {where} missing from {img_dir} "
                f"(expected <name>{b.img_suffix}): {format_names(missing_img)}")
        label_files = None
    else:
        where = f"found under {b.img_dir}"
        present = [r[: -len(b.img_suffix)] for r in _walk_files(img_dir, b.img_suffix)]
        rep.n_images = len(present)
        if not present:
            rep.errors.append(f"no *{b.img_suffix} images under {img_dir}: is {root} the "
                              f"{b.key} root, and are the images extracted?")
            return []
        label_files = set(_walk_files(lbl_dir, b.label_suffix))

    missing_lbl, pairs = [], []
    for n in present:
        lbl_rel = n + b.label_suffix
        has = (lbl_rel in label_files) if label_files is not None else (lbl_dir / lbl_rel).is_file()
        if has:
            pairs.append((n, img_dir / (n + b.img_suffix), lbl_dir / lbl_rel))
        else:
            missing_lbl.append(n)
    if missing_lbl:
        rep.errors.append(
            f"{_plural(len(missing_lbl), 'label file')} missing for images {where} (expected "
            f"{b.label_dir}/<name>{b.label_suffix}; run {prep}): {format_names(missing_lbl)}")

    if rep.n_images and rep.n_images != b.val_count:
        _count_differs(rep, f"{_plural(rep.n_images, 'val image')} {where}, the full {b.key} val split has "
                            f"{b.val_count}", "the paper's")
    return pairs


def _count_differs(rep: VerifyReport, msg: str, whose: str) -> None:
    """A count other than the official one: an error under ``--strict``, else a warning that a
    subset's scores are not comparable with ``whose``."""
    if rep.strict:
        rep.errors.append(msg + " (--strict)")
    else:
        rep.warnings.append(msg + f" (fine for a subset; scores are not comparable with {whose})")


def _mess_pairs(b: DatasetFacts, img_dir: Path, lbl_dir: Path, rep: VerifyReport) -> List[Tuple[str, Path, Path]]:
    """MESS's pairing (:func:`radseg.data.mess.pair_files`) and MESS's count check."""
    from .mess import get_entry, how_to_get, pair_files
    found = pair_files(img_dir, lbl_dir, b.img_suffix, b.label_suffix)
    fix = f"re-run MESS's preparation: {how_to_get(get_entry(b.key))}"
    if not found.n_images or not found.n_labels:
        empty = img_dir if not found.n_images else lbl_dir
        ext = b.img_suffix if not found.n_images else b.label_suffix
        rep.errors.append(f"no *{ext} files in {empty}: {fix}")
        return []
    if found.mismatched:
        rep.errors.append(f"{_plural(len(found.mismatched), 'file')} in {b.img_dir}/ and {b.label_dir}/ "
                          f"have no partner although the counts are equal (MESS would pair them by sorted "
                          f"position): {format_names(found.mismatched)}; {fix}")
    rep.n_images = len(found.pairs)
    if not found.pairs and not found.mismatched:
        rep.errors.append(f"no image in {b.img_dir}/ has a label in {b.label_dir}/ (the names before "
                          f"'{b.img_suffix}' and '{b.label_suffix}' must match): {fix}")
    if rep.n_images and rep.n_images != b.val_count:
        _count_differs(rep, f"{_plural(rep.n_images, 'image/label pair')} ({found.n_images} images, "
                            f"{found.n_labels} labels), MESS's check expects {b.val_count}", "MESS's")
    return found.pairs


#: Labels whose values are checked (decoded) by the quick check: the first, the last and
#: random others (fixed seed); the metric checks every label again during the run.
QUICK_LABEL_SAMPLE = 16
#: Images decoded by the quick check (first, last, random others; fixed seed).
QUICK_IMAGE_SAMPLE = 5
SAMPLE_SEED = 0


def sample_indices(n: int, k: int, seed: int = SAMPLE_SEED) -> List[int]:
    """``k`` of ``range(n)``: the first, the last and random others (fixed ``seed``), sorted."""
    if k <= 0 or n <= 0:
        return []
    if k >= n:
        return list(range(n))
    picked = {0, n - 1} if k >= 2 else {0}
    if k > 2:
        rng = np.random.default_rng(seed)
        picked.update(int(i) for i in rng.choice(np.arange(1, n - 1), size=k - 2, replace=False))
    return sorted(picked)


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def count_images(key: str, root: PathLike) -> Tuple[int, Optional[str]]:
    """``(number of val images, first structural problem or None)`` of ``root``, by file names only."""
    b = get_benchmark(key)
    root = Path(os.path.expanduser(str(root)))
    rep = VerifyReport(key=key, root=root, quick=True)
    _list_pairs(b, root, rep)
    return rep.n_images, (rep.errors[0] if rep.errors else None)


def _check_pair(args) -> List[Tuple[str, str, str]]:
    """Problems of one image/label pair as (kind, file, detail) tuples.

    ``args`` = (name, image path, label path, allowed values, dataset root, decode_label,
    decode_image). Every pair: both headers (PIL opens lazily: size and mode only). With
    ``decode_label`` the label's values are read and checked; with ``decode_image`` the image
    is decoded. Labels are read as palette indices, never ``.convert``-ed.
    """
    name, img_path, lbl_path, allowed, root, decode_label, decode_image = args
    from PIL import Image

    wide = allowed.size > 256  # a 16-bit dataset (uint16 TIFF labels)
    modes, dtype = (LABEL_MODES_16, np.uint16) if wide else (LABEL_MODES, np.uint8)

    img_rel, lbl_rel = _rel(img_path, root), _rel(lbl_path, root)
    out = []
    try:
        with Image.open(img_path) as im:  # header only unless decode_image
            img_size = im.size
            if decode_image:
                im.load()
    except Exception as e:  # noqa: BLE001 - any unreadable file is a finding
        return [("bad_image", img_rel, _why(e))]
    try:
        with Image.open(lbl_path) as lb:
            mode, lbl_size = lb.mode, lb.size
            if mode not in modes:
                return [("mode16" if wide else "mode", lbl_rel, mode)]
            arr = np.array(lb) if decode_label else None
    except Exception as e:  # noqa: BLE001
        return [("bad_label", lbl_rel, _why(e))]
    if arr is not None and (arr.dtype != dtype or arr.ndim != 2):
        return [("mode16" if wide else "mode", lbl_rel, f"{mode} {arr.dtype} {arr.shape}")]
    if lbl_size != img_size:
        out.append(("size", lbl_rel, f"label {lbl_size[0]}x{lbl_size[1]}, image "
                                     f"{img_size[0]}x{img_size[1]}"))
    if arr is not None:
        counts = np.bincount(arr.ravel(), minlength=allowed.size)
        bad = np.flatnonzero((counts > 0) & ~allowed)
        if bad.size:
            vals = ", ".join(str(int(v)) for v in bad[:8]) + (", ..." if bad.size > 8 else "")
            out.append(("values", lbl_rel, vals))
    return out


def _why(e: Exception) -> str:
    msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
    if len(msg) > 80 or str(os.sep) in msg:  # PIL repeats the path: keep it short
        msg = ""
    return f"{type(e).__name__}: {msg}" if msg else type(e).__name__


_KIND_TEXT = {  # kind -> (singular, plural)
    "bad_image": ("unreadable image", "unreadable images"),
    "bad_label": ("unreadable label PNG", "unreadable label PNGs"),
    "mode": ("label not single-channel 8-bit", "labels not single-channel 8-bit"),
    "mode16": ("label not a single-channel 16-bit image", "labels not single-channel 16-bit images"),
    "size": ("label whose size (width x height) differs from its image",
             "labels whose size (width x height) differs from their image"),
    "values": ("label with values outside {}", "labels with values outside {}"),
}
_KIND_HINT = {
    "bad_image": " (corrupt or not an image: re-extract it from the original download, or remove it "
                 "from the split)",
    "mode": " (labels must be mode 'L' or 'P'; colour PNGs are the wrong files: re-run "
            "`radseg data prepare`)",
    "mode16": " (labels must be 16-bit TIFFs, PIL mode 'I;16': re-run `radseg data prepare`)",
    "size": " (the wrong label files, or resized images: re-run `radseg data prepare`)",
}


def _describe(kind: str, items: List[Tuple[str, str]], b: DatasetFacts) -> str:
    one, many = (t.format(b.values_text) for t in _KIND_TEXT[kind])
    shown = format_names([f"{n} ({d})" for n, d in items])
    return f"{len(items)} {one if len(items) == 1 else many}{_KIND_HINT.get(kind, '')}: {shown}"


def default_workers() -> int:
    return max(1, min(8, os.cpu_count() or 1))


def verify_dataset(key: str, root: PathLike, quick: bool = False, strict: bool = False,
                   workers: Optional[int] = None, progress: bool = False) -> VerifyReport:
    """Check the prepared val split of benchmark ``key`` in folder ``root``.

    ``quick`` (what ``eval.py`` runs before loading any model, seconds on any set): the
    structure, every image's and label's header (size, mode: a wrong-size or colour label is
    an error), the values of a sample of :data:`QUICK_LABEL_SAMPLE` labels and the decoding
    of :data:`QUICK_IMAGE_SAMPLE` images. The full check decodes every label.
    ``strict`` makes a wrong image count an error; ``workers`` threads read files (default:
    up to 8). Unknown ``key`` raises :class:`DatasetError`; dataset problems are reported.
    """
    b = get_benchmark(key)
    root = Path(os.path.expanduser(str(root)))
    rep = VerifyReport(key=key, root=root, quick=quick, strict=strict)
    pairs = _list_pairs(b, root, rep)
    if not pairs:
        return rep

    allowed = b.allowed_values()
    n = len(pairs)
    label_sample = set(range(n)) if not quick else set(sample_indices(n, QUICK_LABEL_SAMPLE))
    image_sample = set(sample_indices(n, QUICK_IMAGE_SAMPLE))
    tasks = [(nm, i, lb, allowed, root, k in label_sample, k in image_sample)
             for k, (nm, i, lb) in enumerate(pairs)]
    workers = workers or default_workers()
    found: Dict[str, List[Tuple[str, str]]] = {}
    with ThreadPoolExecutor(max_workers=workers) as ex:
        results = ex.map(_check_pair, tasks, chunksize=64)
        if progress:
            from tqdm import tqdm

            results = tqdm(results, total=len(tasks), desc=f"verify {key}", unit="img",
                           disable=None)
        for probs in results:
            for kind, name, detail in probs:
                found.setdefault(kind, []).append((name, detail))
    rep.n_labels_checked = len(label_sample)
    rep.n_images_decoded = len(image_sample)
    for kind in ("bad_image", "bad_label", "mode", "mode16", "size", "values"):
        if kind in found:
            rep.errors.append(_describe(kind, found[kind], b))
    return rep


def check_dataset(key: str, root: PathLike, quick: bool = True, strict: bool = False) -> VerifyReport:
    """:func:`verify_dataset` that raises :class:`DatasetError` (one line) when not usable.

    Meant for evaluation entry points: call it before loading models.
    """
    rep = verify_dataset(key, root, quick=quick, strict=strict)
    rep.raise_for_errors()
    return rep
