"""``radseg segment`` over a collection: folders, globs, lists; one model load for the run.

Inputs (:func:`collect_inputs`): image files, folders (top level; ``recursive`` descends),
glob patterns (``"photos/**/*.jpg"``) and a list file (one path per line; relative paths
are relative to the list file's folder; blank lines and ``#`` comments skipped). Each
image's outputs go under the output folder at the image's *relative path* (to its folder,
to the glob's fixed part, as written in the list, or its file name for a file argument),
with the single-image names::

    OUT/<rel>_labels.png     palette PNG, pixel = class index (its text chunk holds the settings hash)
    OUT/<rel>_overlay.png    the image with class colours and a legend (unless --no-overlay)
    OUT/<rel>_probs.npy      float16 K x H x W (with --save-probs)
    OUT/manifest.jsonl       a header line, then one line per image (see docs/SEGMENT.md)

Resumable: an image whose label PNG carries the run's settings hash (and whose other
requested outputs exist) is skipped unless ``force``. Every file is written to a temporary
name in its folder and renamed (``os.replace``), the label PNG last, so a killed run leaves
no half-written output and the rerun does the rest. An unreadable image is reported by name
and skipped; the run ends non-zero with the list. Under ``torchrun`` each process takes
every N-th image (rank r: images r, r+N, ...) and rank 0 writes the manifest.
"""
from __future__ import annotations

import glob
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .errors import ConfigError, DatasetError

#: file name endings taken from folders and globs (others there are listed once, not read).
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".ppm", ".pgm", ".pnm",
                  ".jp2", ".jfif")
MANIFEST = "manifest.jsonl"
MANIFEST_SCHEMA = "radseg.segment/1"
#: the label PNG's text key holding the settings hash (resume check).
HASH_KEY = "radseg-settings-hash"
DEFAULT_OUT = "segmented"


@dataclass(frozen=True)
class Item:
    """One input image: ``source`` (as found) and ``rel`` (its outputs' relative path, POSIX, no suffix)."""
    source: str
    rel: str


def is_glob(text: str) -> bool:
    return any(c in text for c in "*?[")


def _is_image_name(name: str) -> bool:
    return name.lower().endswith(IMAGE_SUFFIXES) and not os.path.basename(name).startswith(".")


def _rel_stem(rel: str) -> str:
    p = PurePosixPath(rel.replace(os.sep, "/"))
    return str(p.with_suffix("")) if p.suffix else str(p)


def _folder_items(folder: Path, recursive: bool, ignored: List[str]) -> List[Item]:
    out = []
    if recursive:
        found = []
        for d, dirs, files in os.walk(folder, followlinks=True):
            dirs[:] = sorted(x for x in dirs if not x.startswith("."))
            found += [os.path.join(d, f) for f in sorted(files)]
    else:
        found = [str(folder / f) for f in sorted(os.listdir(folder)) if (folder / f).is_file()]
    for path in found:
        name = os.path.basename(path)
        if _is_image_name(name):
            out.append(Item(path, _rel_stem(os.path.relpath(path, folder))))
        elif not name.startswith("."):
            ignored.append(path)
    return out


def _glob_base(pattern: str) -> str:
    parts = Path(pattern).parts
    fixed = []
    for part in parts:
        if is_glob(part):
            break
        fixed.append(part)
    return str(Path(*fixed)) if fixed else "."


def read_list_file(path: str) -> List[Tuple[str, str]]:
    """``(path, rel)`` per line of a list file (see module doc)."""
    from .class_names import read_text_file
    p = Path(path)
    if not p.is_file():
        raise DatasetError(f"--list '{path}' {'is a folder' if p.is_dir() else 'does not exist'}; give a text "
                           f"file with one image path per line.")
    from .errors import ClassNamesError
    try:
        text = read_text_file(p, what="--list file")
    except ClassNamesError as e:
        raise DatasetError(str(e)) from None
    out = []
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        full = s if os.path.isabs(os.path.expanduser(s)) else str(p.parent / s)
        rel = os.path.normpath(s)
        if os.path.isabs(os.path.expanduser(s)) or rel.startswith(".."):
            rel = os.path.basename(s)
        out.append((os.path.expanduser(full), _rel_stem(rel)))
    if not out:
        raise DatasetError(f"--list '{path}' names no image (one path per line; # starts a comment).")
    return out


def collect_inputs(inputs: Sequence[str], recursive: bool = False, list_file: Optional[str] = None
                   ) -> Tuple[List[Item], List[str]]:
    """``(items in order, ignored non-image files found in folders)``; one clear error for a
    missing input, a URL, an empty folder or two inputs that would write the same outputs."""
    from .segment import check_image_path, is_url
    items: List[Item] = []
    ignored: List[str] = []
    for text in inputs:
        text = str(text)
        if is_url(text):
            check_image_path(text)
        path = Path(os.path.expanduser(text))
        if path.is_dir():
            found = _folder_items(path, recursive, ignored)
            if not found:
                hint = "" if recursive else " (add --recursive to look in its sub-folders)"
                raise DatasetError(f"folder '{text}' holds no image files{hint}.")
            items += found
        elif path.is_file():
            items.append(Item(str(path), _rel_stem(path.name)))
        elif is_glob(text):
            base = _glob_base(text)
            matches = sorted(m for m in glob.glob(os.path.expanduser(text), recursive=True) if os.path.isfile(m))
            if not matches:
                raise DatasetError(f"pattern '{text}' matches no file.")
            for m in matches:
                if _is_image_name(m):
                    items.append(Item(m, _rel_stem(os.path.relpath(m, os.path.expanduser(base)))))
                else:
                    ignored.append(m)
        else:
            check_image_path(text)  # the one "does not exist" message
    if list_file:
        items += [Item(src, rel) for src, rel in read_list_file(list_file)]
    if not items:
        raise DatasetError("no images given: pass image files, folders or patterns, or --list FILE.")
    seen: Dict[str, str] = {}
    for it in items:
        if it.rel in seen and os.path.realpath(seen[it.rel]) != os.path.realpath(it.source):
            raise DatasetError(f"'{seen[it.rel]}' and '{it.source}' would write the same outputs ('{it.rel}_*'); "
                               f"rename one or segment them in separate runs (--out).")
        seen.setdefault(it.rel, it.source)
    unique, done = [], set()
    for it in items:  # the same file given twice is segmented once
        if it.rel not in done:
            unique.append(it)
            done.add(it.rel)
    return unique, ignored


# -- outputs -------------------------------------------------------------------------------------

def output_files(out_dir: Path, rel: str) -> Dict[str, Path]:
    base = out_dir / rel
    return {"labels": base.with_name(base.name + "_labels.png"),
            "overlay": base.with_name(base.name + "_overlay.png"),
            "probs": base.with_name(base.name + "_probs.npy")}


def _atomic(path: Path, write) -> None:
    """``write(file object)`` into a temporary file next to ``path``, then rename it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def stored_hash(labels_png: Path) -> Optional[str]:
    """The settings hash in a label PNG written by this module (None if absent or unreadable)."""
    try:
        from PIL import Image
        with Image.open(labels_png) as im:
            return im.text.get(HASH_KEY) if hasattr(im, "text") else None
    except Exception:  # noqa: BLE001 - a damaged output is redone
        return None


def is_done(files: Dict[str, Path], settings_hash: str, overlay: bool, save_probs: bool) -> bool:
    if stored_hash(files["labels"]) != settings_hash:
        return False
    return (not overlay or files["overlay"].is_file()) and (not save_probs or files["probs"].is_file())


def write_outputs(pred, files: Dict[str, Path], settings_hash: str, overlay: bool, save_probs: bool,
                  notify=None) -> None:
    """Probabilities, overlay, then the label PNG (with the hash) last, each atomically.
    Temporary files a killed earlier run left next to them are removed first."""
    from PIL import PngImagePlugin
    for p in files.values():
        for stale in p.parent.glob(f".{glob.escape(p.name)}.*.part") if p.parent.is_dir() else ():
            stale.unlink(missing_ok=True)
    if save_probs:
        probs = pred.probs.detach().cpu().numpy().astype(np.float16)
        _atomic(files["probs"], lambda f: np.save(f, probs))
    if overlay:
        from .visualize import overlay as draw
        img = draw(pred.image, pred.labels.cpu().numpy(), pred.classes, notify=notify)
        _atomic(files["overlay"], lambda f: img.save(f, format="PNG"))
    info = PngImagePlugin.PngInfo()
    info.add_text(HASH_KEY, settings_hash)
    lm = pred.label_image()
    _atomic(files["labels"], lambda f: lm.save(f, format="PNG", pnginfo=info))


def class_shares(labels: np.ndarray, names: Sequence[str]) -> Dict[str, float]:
    """``{class: share of the pixels}`` of the classes present (4 decimals), largest first."""
    counts = np.bincount(labels.ravel(), minlength=len(names))
    total = max(int(labels.size), 1)
    order = np.argsort(-counts, kind="stable")
    return {names[i]: round(int(counts[i]) / total, 4) for i in order if counts[i] > 0}


def check_out_dir(out: str) -> Path:
    """The output folder, writable (created later): the same probe-file check as one image's
    outputs (:func:`radseg.segment.check_writable_folder`); a file in the way is a one-line error."""
    from .segment import check_writable_folder
    p = Path(os.path.expanduser(out))
    check_writable_folder(p, out)
    return p


# -- the run -------------------------------------------------------------------------------------

def _dist() -> Tuple[int, int]:
    """``(rank, world size)`` from torchrun's environment (``(0, 1)`` outside it)."""
    try:
        return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    except ValueError:
        return 0, 1


def _init_group(world: int):
    if world <= 1:
        return None
    import torch.distributed as dist
    if not dist.is_initialized():
        dist.init_process_group("gloo")  # CPU objects only (entries, barrier): gloo everywhere
    return dist


def settings_hash_of(config, classes, info) -> str:
    """Same hash = same labels: the RADSeg settings, the classes (with synonyms), the weights' identity."""
    from .results.provenance import config_hash
    cfg = {k: v for k, v in config.to_dict().items() if k not in ("text_disk_cache", "max_windows_per_batch")}
    ident = {k: info.get(k) for k in ("model_version", "source", "revision", "lang_model")}
    return config_hash({"config": cfg, "classes": classes, "model": ident})


def _read_manifest(path: Path) -> Dict[str, dict]:
    """Entries of an earlier manifest by output path (to keep skipped images' timings)."""
    out = {}
    try:
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if isinstance(e, dict) and "labels" in e:
                out[e["labels"]] = e
    except OSError:
        pass
    return out


def _done_entry(pred, item: Item, files: dict, out_dir: Path, h: str, names, overlay: bool, save_probs: bool,
                size) -> dict:
    """The manifest entry of one segmented image."""
    labels = pred.labels.cpu().numpy()
    e = {"source": item.source, "labels": os.path.relpath(files["labels"], out_dir),
         "overlay": os.path.relpath(files["overlay"], out_dir) if overlay else None,
         "probs": os.path.relpath(files["probs"], out_dir) if save_probs else None,
         "width": size[0] if size else labels.shape[1], "height": size[1] if size else labels.shape[0],
         "classes": class_shares(labels, names), "settings_hash": h,
         "timings_ms": {k: round(v, 2) for k, v in pred.timings.items()}, "status": "done"}
    if size and (labels.shape[1], labels.shape[0]) != tuple(size):
        e["segmented_size"] = [labels.shape[1], labels.shape[0]]
    return e


def _write_manifest(out_dir: Path, entries: Dict[int, dict], header: Optional[dict], h: str, classes,
                    n_items: int) -> Path:
    """``manifest.jsonl``: the header line, then one line per image in input order (atomic)."""
    manifest = out_dir / MANIFEST
    head = dict(header or {}, manifest=MANIFEST_SCHEMA, settings_hash=h, classes=[c[0] for c in classes],
                synonyms=classes, images=n_items, written_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    lines = [json.dumps(head)] + [json.dumps(entries[i]) for i in sorted(entries)]
    out_dir.mkdir(parents=True, exist_ok=True)
    _atomic(manifest, lambda f: f.write(("\n".join(lines) + "\n").encode("utf-8")))
    return manifest


def _skipped_entries(skipped: Sequence[int], items: Sequence[Item], files, out_dir: Path) -> Dict[int, dict]:
    """The manifest entries of images already done (kept from the previous manifest)."""
    old = _read_manifest(out_dir / MANIFEST) if skipped else {}
    entries = {}
    for i in skipped:
        rel = os.path.relpath(files[i]["labels"], out_dir)
        e = dict(old.get(rel) or {"source": items[i].source, "labels": rel})
        e["status"] = "skipped"
        entries[i] = e
    return entries


def run_collection(predictor, items: Sequence[Item], classes, out_dir: Path, *, overlay: bool = True,
                   save_probs: bool = False, force: bool = False, batch_size: int = 1, num_workers: int = 0,
                   header: Optional[dict] = None, note=None, progress: bool = True,
                   failed_before: Optional[Dict[int, str]] = None) -> dict:
    """Segment ``items`` into ``out_dir``; returns the summary (``done``, ``skipped``, ``failed``
    as lists of sources, ``seconds``, ``images_per_s``, ``manifest``). ``classes``: synonym lists;
    ``failed_before``: ``{index: error}`` of items the caller already found unreadable (not read
    again; recorded as failed)."""
    note = note or (lambda m: print(f"note: {m}", file=sys.stderr))
    rank, world = _dist()
    dist = _init_group(world)
    predictor.set_classes(classes)
    names = predictor.classes
    h = settings_hash_of(predictor.config, classes, predictor.info)
    files = [output_files(out_dir, it.rel) for it in items]
    mine = [i for i in range(len(items)) if i % world == rank]
    failed: Dict[int, str] = {i: e for i, e in (failed_before or {}).items() if i in set(mine)}
    todo = [i for i in mine if i not in failed and (force or not is_done(files[i], h, overlay, save_probs))]
    entries = _skipped_entries([i for i in mine if i not in set(todo) and i not in failed], items, files, out_dir)
    t0 = time.perf_counter()
    bar = None
    if progress and todo:
        from tqdm import tqdm
        bar = tqdm(total=len(todo), unit="img", desc="segment" if world == 1 else f"segment [rank {rank}]",
                   disable=None, file=sys.stderr, dynamic_ncols=True)
    say = (lambda m: bar.write(m, file=sys.stderr)) if bar is not None else (lambda m: print(m, file=sys.stderr))
    try:
        sources = [items[i].source for i in range(len(items))]
        for idx, pred, error, notes, size in predictor.iter_predictions(sources, batch_size, num_workers,
                                                                       indices=todo):
            for n in notes:
                say(f"note: {n}")
            if error is not None:
                failed[idx] = error
                say(f"error: {error} (skipped; the run goes on)")
            else:
                write_outputs(pred, files[idx], h, overlay, save_probs, notify=lambda m: say(f"note: {m}"))
                entries[idx] = _done_entry(pred, items[idx], files[idx], out_dir, h, names, overlay, save_probs,
                                           size)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    seconds = time.perf_counter() - t0
    for i, err in failed.items():
        entries[i] = {"source": items[i].source, "status": "failed", "error": err}
    n_done = sum(1 for e in entries.values() if e["status"] == "done")
    if dist is not None:
        gathered = [None] * world
        dist.all_gather_object(gathered, (entries, n_done, seconds))
        entries = {k: v for part in gathered for k, v in part[0].items()}
        seconds = max(part[2] for part in gathered)
        n_done = sum(part[1] for part in gathered)
    manifest = out_dir / MANIFEST
    if rank == 0:
        _write_manifest(out_dir, entries, header, h, classes, len(items))
    if dist is not None:
        dist.barrier()
        dist.destroy_process_group()
    status = lambda s: [entries[i]["source"] for i in sorted(entries) if entries[i]["status"] == s]  # noqa: E731
    return {"done": status("done"), "skipped": status("skipped"), "failed": status("failed"),
            "errors": {entries[i]["source"]: entries[i]["error"] for i in sorted(entries)
                       if entries[i]["status"] == "failed"},
            "seconds": seconds, "images_per_s": n_done / seconds if seconds > 0 and n_done else 0.0,
            "manifest": manifest, "rank": rank, "world": world}


def summary_line(s: dict) -> str:
    rate = f"{s['images_per_s']:.2f} images/s" if s["done"] else "0 images/s"
    return (f"segmented {len(s['done'])}, skipped {len(s['skipped'])} (already done), failed {len(s['failed'])}; "
            f"{rate} over {s['seconds']:.1f} s; manifest {s['manifest']}")


def check_flags(batch_size: int, num_workers: int) -> None:
    if batch_size < 1:
        raise ConfigError(f"--batch-size must be >= 1 (got {batch_size}).")
    if num_workers < 0:
        raise ConfigError(f"--num-workers must be >= 0 (got {num_workers}).")


def is_collection(images: Sequence[str], list_file: Optional[str]) -> bool:
    """Whether ``radseg segment`` runs in collection mode: several inputs, a folder, a glob
    pattern or ``--list`` (one image file keeps the single-image form and its output names)."""
    if list_file or len(images) > 1:
        return True
    if len(images) == 1:
        p = Path(os.path.expanduser(str(images[0])))
        return p.is_dir() or (not p.exists() and is_glob(str(images[0])))
    return False
