"""Helpers shared by :mod:`.prepare` (the dispatch) and the converters (:mod:`.link`,
:mod:`.pascal_context`, :mod:`.coco`, :mod:`.cityscapes`): the result type, atomic label
writes, header checks, links, the worker pool. Imports none of them, so no import circle.
No mmseg / mmengine / mmcv imports.
"""
from __future__ import annotations

import gc
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, List, Optional, Sequence

import numpy as np

from ..errors import DatasetError
from .benchmarks import PathLike, candidate_roots

TMP_MARK = ".radseg-tmp"


@dataclass
class PrepareResult:
    """What :func:`prepare_dataset` did."""

    key: str
    root: Path
    converted: int = 0
    skipped: int = 0
    label_dirs: List[Path] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)
    conversion: bool = True

    def message(self) -> str:
        lines = []
        if self.conversion:
            where = ", ".join(str(d) for d in self.label_dirs) or str(self.root)
            if self.converted == 0:
                lines.append(f"{self.key}: nothing to convert, all {self.skipped} labels already "
                             f"present and valid in {where}")
            else:
                lines.append(f"{self.key}: converted {self.converted} labels"
                             + (f" ({self.skipped} already done)" if self.skipped else "")
                             + f" into {where}")
        lines += [f"{self.key}: {n}" for n in self.notes]
        lines += [f"{self.key}: warning: {w}" for w in self.warnings]
        return "\n".join(lines)


# ---------------------------------------------------------------- helpers

def expand(p: PathLike) -> Path:
    return Path(os.path.expanduser(str(p)))


def same_path(a: PathLike, b: PathLike) -> bool:
    return os.path.realpath(str(a)) == os.path.realpath(str(b))


def _save_label_atomic(arr: np.ndarray, path: PathLike, dtype, fmt: str) -> None:
    """Write a 2-D ``dtype`` array with Pillow as ``fmt`` to a temp name beside ``path``, then rename."""
    from PIL import Image

    arr = np.asarray(arr)
    if arr.ndim != 2 or arr.dtype != dtype:
        raise ValueError(f"label for {path} must be 2-D {np.dtype(dtype).name}, got {arr.dtype} {arr.shape}")
    path = Path(path)
    tmp = path.with_name(f".{path.name}{TMP_MARK}{os.getpid()}")
    try:
        Image.fromarray(arr).save(tmp, format=fmt)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def save_label(arr: np.ndarray, path: PathLike) -> None:
    """Write a 2-D uint8 array as a single-channel ('L') PNG, atomically."""
    _save_label_atomic(arr, path, np.uint8, "PNG")


def save_label16(arr: np.ndarray, path: PathLike) -> None:
    """Write a 2-D uint16 array as a 16-bit TIFF (PIL mode 'I;16', as the literature's
    converters write it: ``Image.fromarray(uint16).save(...)``), atomically."""
    _save_label_atomic(arr, path, np.uint16, "TIFF")


def label16_is_valid(path: PathLike, size) -> bool:
    """``path`` is a readable 16-bit TIFF label of ``size`` = (width, height) (header only)."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            return im.format == "TIFF" and im.mode.startswith("I;16") and tuple(im.size) == tuple(size)
    except Exception:  # noqa: BLE001 - missing or unreadable: convert again
        return False


def label_is_valid(path: PathLike, size) -> bool:
    """``path`` is a readable single-channel PNG of ``size`` = (width, height) (header only)."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            return im.format == "PNG" and im.mode in ("L", "P") and tuple(im.size) == tuple(size)
    except Exception:  # noqa: BLE001 - missing or unreadable: convert again
        return False


def image_size(path: PathLike):
    """(width, height) from the file header, no decoding."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            return im.size
    except Exception as e:  # noqa: BLE001 - PIL raises many kinds on damaged files
        raise DatasetError(f"{path} cannot be read ({type(e).__name__}: {e}): extract the "
                           f"original download again.") from None


def clean_temp_files(folder: PathLike) -> None:
    """Remove temporary label files left by an interrupted (killed) earlier run."""
    folder = Path(folder)
    if folder.is_dir():
        for p in folder.glob(f".*{TMP_MARK}*"):
            try:
                p.unlink()
            except OSError:
                pass


def write_text_if_changed(path: PathLike, text: str) -> bool:
    """Write ``text`` atomically unless the file already holds it. True if written."""
    path = Path(path)
    try:
        if path.read_text() == text:
            return False
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}{TMP_MARK}{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)
    return True


def ensure_link(dest: PathLike, target: PathLike, keep_existing_dir: bool = False) -> str:
    """Make ``dest`` a symlink to the folder ``target``.

    Returns ``"linked"`` (created), ``"same"`` (``dest`` already is or points to
    ``target``) or ``"kept"`` (``keep_existing_dir`` and ``dest`` is another
    existing folder, e.g. a copy of the images). A broken link is replaced; any
    other existing ``dest`` is an error (never deleted).
    """
    dest, target = Path(dest), Path(target)
    if os.path.lexists(dest):
        if dest.exists() and same_path(dest, target):
            return "same"
        if dest.is_symlink() and not dest.exists():
            dest.unlink()
        elif keep_existing_dir and dest.is_dir():
            return "kept"
        else:
            raise DatasetError(
                f"{dest} already exists and is not {target}: remove or rename it, or choose "
                f"another --out folder.")
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(os.path.realpath(target), dest, target_is_directory=True)
    return "linked"


def link_images(res: PrepareResult, dest: Path, target: Path) -> None:
    """Link an image folder into the prepared root, noting what was done in ``res``."""
    status = ensure_link(dest, target, keep_existing_dir=True)
    if status == "linked":
        res.notes.append(f"linked {dest} -> {target}")
    elif status == "kept":
        res.notes.append(f"kept the existing image folder {dest} (not a link to {target})")


def link_labelled_images(res: PrepareResult, dest: Path, target: Path, suffix: str,
                         has_label: Callable[[str], bool]) -> None:
    """Link the image folder ``target`` into the prepared root at ``dest``, leaving out the images
    without a label: for a split without a split file the image folder *is* the list, so an
    unlabelled image would make the folder fail its verifier (and mmseg's loader mid-run).

    ``has_label(name)``: ``name`` = an image's path relative to ``target`` without ``suffix``
    (POSIX). Every image labelled: ``dest`` is one link to ``target`` (:func:`link_images`).
    Otherwise ``dest`` is a real folder of per-image links to the labelled ones (an earlier
    folder link there is replaced, files already in a real folder are kept), and a warning
    names the others. In place (``dest`` is ``target``) nothing can be left out: a :class:`DatasetError`.
    """
    from .verify import _walk_files, format_names

    names = [r[: -len(suffix)] for r in _walk_files(target, suffix)]
    unlabelled = [n for n in names if not has_label(n)]
    if not unlabelled:
        if not same_path(dest, target):
            link_images(res, dest, target)
        return
    if same_path(dest, target):
        raise DatasetError(f"{len(unlabelled)} images in {target} have no label ({format_names(unlabelled)}): "
                           f"converted in place they cannot be left out; prepare into another --out folder, or "
                           f"extract the download again.")
    if dest.is_symlink():
        dest.unlink()  # a link to the whole folder from an earlier run (the link only, not the images)
    gone, made = set(unlabelled), 0
    for n in names:
        link = dest / (n + suffix)
        if n in gone:
            if link.is_symlink():
                link.unlink()  # a per-image link of an earlier run
        elif not os.path.lexists(link):
            link.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(os.path.realpath(target / (n + suffix)), link)
            made += 1
    res.notes.append(f"{dest}: per-image links to the {len(names) - len(gone)} labelled images of {target}"
                     + (f" ({made} new)" if made else ""))
    res.warnings.append(f"{len(unlabelled)} images in {target} have no label and are left out: "
                        f"{format_names(unlabelled)}")


def worker_error(src, e: Exception) -> DatasetError:
    """A conversion failure as a one-line user error naming the input file."""
    if isinstance(e, DatasetError):
        return e
    return DatasetError(f"converting {src} failed ({type(e).__name__}: {e}); the file may be "
                        f"damaged: extract the download again.")


def run_tasks(fn: Callable, tasks: Sequence, workers: int = 1, desc: str = "") -> List:
    """``[fn(t) for t in tasks]`` with a tqdm bar, on a ``multiprocessing.Pool`` if ``workers > 1``.

    Result order is not preserved when ``workers > 1``.
    """
    from tqdm import tqdm

    if not tasks:
        return []
    bar = dict(total=len(tasks), desc=desc, unit="img", disable=None, file=sys.stderr)
    workers = max(1, min(int(workers or 1), len(tasks)))
    if workers == 1:
        return [fn(t) for t in tqdm(tasks, **bar)]
    import multiprocessing as mp

    gc.collect()
    gc.freeze()  # forked children will not write to (copy) the parent's objects during GC
    try:
        chunk = max(1, min(16, len(tasks) // (workers * 8)))
        with mp.Pool(workers) as pool:
            return list(tqdm(pool.imap_unordered(fn, tasks, chunksize=chunk), **bar))
    finally:
        gc.unfreeze()


def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def find_folder(raw: Path, candidates: Iterable[str], required: Sequence[str]) -> Optional[Path]:
    """The first ``raw/<candidate>`` that holds every ``required`` sub-path, else None."""
    for c in candidates:
        d = raw / c if c else raw
        if all((d / r).exists() for r in required):
            return d
    return None


def read_label_png(path) -> np.ndarray:
    """Indices of a single-channel label PNG ('L' or 'P'); anything else is a DatasetError."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            if im.mode not in ("L", "P"):
                raise DatasetError(f"{path} is a {im.mode} image, not a single-channel label "
                                   f"map: extract the original download again.")
            return np.array(im)
    except DatasetError:
        raise
    except Exception as e:  # noqa: BLE001 - PIL raises many kinds on damaged files
        raise DatasetError(f"{path} cannot be read ({type(e).__name__}: {e}): extract the "
                           f"original download again.") from None


def voc2010_destination(key: str, data_dir: Path, voc: Path) -> PrepareResult:
    """Where a VOC2010-based benchmark (Context, PC-459) goes in ``data_dir``: the first existing of
    its accepted folders that is ``voc`` itself, else the default one, with ``voc``'s JPEGImages
    linked in (nothing to link when the destination is ``voc``)."""
    roots = list(candidate_roots(key, data_dir))
    dest = next((r for r in roots if r.exists() and same_path(r, voc)), roots[0])
    res = PrepareResult(key=key, root=dest)
    if not same_path(dest, voc):
        dest.mkdir(parents=True, exist_ok=True)
        link_images(res, dest / "JPEGImages", voc / "JPEGImages")
    return res
