"""PASCAL VOC 2012, ADE20K (and any registered dataset already in its prepared layout): no conversion;
check the extracted folder and link it into place.

``--raw`` may be the dataset folder itself or a folder above it
(``VOCdevkit/VOC2012``, ``ADEChallengeData2016``; for any entry: one of its
``data_dirnames``, found by its image / label folders and split file). The quick verifier checks
it (folders, split file, every image has its label) before a symlink
``DATA/<default root>`` -> raw folder is made. If the raw folder already is
one of the accepted roots in the data folder, nothing is linked.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import DatasetError
from .benchmarks import candidate_roots, get_benchmark
from .common import PrepareResult, ensure_link, find_folder, same_path


def _look(key: str):
    """``(folders to look in under --raw, what each must hold, what --raw should be)`` from the entry."""
    f = get_benchmark(key)
    required = [f.img_dir, f.label_dir] + ([f.split_file] if f.split_file else [])
    what = f.raw_hint or f"the {f.root} folder of the {f.title} download"
    return ["", *f.data_dirnames], required, what


def prepare_link(key: str, raw: Path, data_dir: Path) -> PrepareResult:
    from .verify import verify_dataset

    cands, required, what = _look(key)
    src = find_folder(raw, cands, required)
    if src is None:
        raise DatasetError(f"{raw} does not hold {', '.join(required)}: pass --raw {what}.")
    rep = verify_dataset(key, src, quick=True)
    if not rep.ok:
        raise DatasetError(f"{src} is not a complete {key} download: {rep.errors[0]}"
                           + (f" (+{len(rep.errors) - 1} more problems)" if len(rep.errors) > 1
                              else ""))
    roots = list(candidate_roots(key, data_dir))
    here = next((r for r in roots if r.exists() and same_path(r, src)), None)
    res = PrepareResult(key=key, root=here or roots[0], conversion=False)
    if here is not None:
        res.notes.append(f"nothing to convert or link: {here} is already in place"
                         + (f" (-> {src.resolve()})" if here.is_symlink() else ""))
    else:
        ensure_link(roots[0], src)
        res.notes.append(f"no conversion needed; linked {roots[0]} -> {src.resolve()}")
    return res
