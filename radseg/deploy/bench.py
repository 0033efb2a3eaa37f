"""``radseg bench --backend torch onnxruntime``: the ONNX Runtime row next to each exact torch row.

For a torch case just measured (:func:`radseg.bench.core.run_case`), :func:`onnxruntime_row`
exports the same encoder (and SAM) into a temporary folder (graphs shared between presets of one
window size within the process), builds an :class:`radseg.deploy.ort_backend.OrtEncoder` with the
same settings and refiner, and measures it the same way. The ratio is taken from a second,
interleaved loop (torch, ONNX Runtime, torch, ...: the same machine load for both on a shared
host): ``speedup_vs_torch`` = median torch latency / median ONNX Runtime latency in that loop.
Parity: label agreement and mIoU against the torch row's labels, and the largest relative
difference of the per-window backbone features.
"""
from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import torch

from ..config import RADSegConfig

_SCRATCH: List[Path] = []
#: ``radseg bench --model-dir D``: the existing export the ONNX Runtime rows run (set by :func:`use_export`)
_EXISTING: List[Path] = []


def use_export(folder: Optional[str]) -> Optional[str]:
    """``radseg bench --backend onnxruntime --model-dir D``: run the ONNX Runtime rows from the existing
    export ``D`` instead of exporting the encoder just timed (checked now: a folder that is not an
    export is one line; per case, other windows, another model or other weights are one line).
    ``None``: export each case (the default). Returns the export's model version (the bench's default)."""
    from .export_folder import OnnxExport
    if folder is None:
        _EXISTING.clear()
        return None
    export = OnnxExport.open(folder)
    _EXISTING[:] = [Path(folder)]
    return export.manifest.get("model_version")


def _existing_export(enc, config: RADSegConfig):
    """The export of :func:`use_export`, checked against the case (settings and the backbone's weights)."""
    from ..core.text_embeddings import weights_digest
    from ..errors import ConfigError
    from .export_folder import OnnxExport
    export = OnnxExport.open(_EXISTING[0])
    export.check_config(config)
    if export.manifest.get("source_digest") not in (None, weights_digest(enc.model)):
        raise ConfigError(f"the export in '{export.folder}' holds other {config.model_version} weights than the "
                          f"bench's torch row; export again (radseg export onnx ...) or drop --model-dir.")
    return export, {"export_s": 0.0, "export_from": str(export.folder)}


def _scratch() -> Path:
    """One temporary folder per process for the bench's exports (kept to the end, so a graph exported
    for one preset is copied, not exported again, for the next preset of the same window size)."""
    if not _SCRATCH:
        import atexit
        import shutil
        _SCRATCH.append(Path(tempfile.mkdtemp(prefix="radseg-bench-onnx-")))
        atexit.register(shutil.rmtree, _SCRATCH[0], True)
    return _SCRATCH[0]


def _ort_encoder(enc, sam_model, row: Dict, classes: List[List[str]], folder: Path, model_version: str,
                 sam_name: Optional[str], threads: Optional[int]):
    from ..core.sam_refine import SAMRefiner
    from .export import write_export
    from .ort_backend import OnnxExport, OrtEncoder
    refine = enc.sam_refiner is not None
    config = RADSegConfig(model_version=model_version, slide_crop=row["crop"], slide_stride=row["stride"],
                          sam_refine=refine, sam_ckpt=sam_name if refine else None,
                          max_windows_per_batch=enc.max_windows_per_batch, text_disk_cache=False,
                          class_names=None)
    if refine:
        r = enc.sam_refiner
        config = config.replace(coarse_thresh=r.coarse_thresh, sam_iou_thresh=r.sam_iou_thresh)
    if _EXISTING:
        export, facts = _existing_export(enc, config)
    else:
        t0 = time.perf_counter()
        write_export(folder, enc, config, classes, sam=sam_model if refine else None, force=True,
                     log=lambda m: None)
        facts = {"export_s": round(time.perf_counter() - t0, 2)}
        export = OnnxExport.open(folder)
    manifest = export.manifest
    t0 = time.perf_counter()
    ort_enc = OrtEncoder(export, config, device="cpu", threads=threads)
    start_s = time.perf_counter() - t0
    if refine:
        ort_enc.sam_refiner = SAMRefiner.from_config(ort_enc.sam, config)
    ort_enc.set_classes(classes)  # checks that the export has an embedding for every prompt
    ort_enc.set_text_embeddings(enc.text_embeddings())  # the torch row's prompts (the workload may have replaced them)
    size_mb = sum(p["bytes"] for p in manifest["parts"].values()) / 2 ** 20
    return ort_enc, {**facts, "session_start_s": round(start_s, 3), "export_mb": round(size_mb, 1)}


def feature_rel_error(enc, ort_enc, img: torch.Tensor) -> float:
    """Largest ``max|ort - torch| / max|torch|`` over the per-window backbone features of ``img``."""
    from ..core.sliding_windows import resize_to_stride, window_grid
    x = resize_to_stride(img, enc.slide_crop, enc.slide_stride)
    crops = torch.cat([x[:, :, y1:y2, x1:x2] for (y1, y2, x1, x2) in
                       window_grid(x.shape[-2], x.shape[-1], enc.slide_crop, enc.slide_stride)])
    with torch.no_grad():
        a = enc.backbone_features(crops)
        b = ort_enc.backbone_features(crops)
    return max(float((b[i] - a[i]).abs().max() / a[i].abs().max()) for i in range(a.shape[0]))


def interleaved_ms(enc, ort_enc, imgs, ori_shape, device: str, repeats: int) -> Tuple[List[float], List[float]]:
    """Alternate one torch and one ONNX Runtime run ``repeats`` times; the two latency lists (ms)."""
    lt, lo = [], []
    for _ in range(repeats):
        for e, out in ((enc, lt), (ort_enc, lo)):
            e.timer = None
            t0 = time.perf_counter()
            [e.predict(im, ori_shape) for im in imgs]  # CPU only (run_bench checks): no sync needed
            out.append(1e3 * (time.perf_counter() - t0))
    return lt, lo


def onnxruntime_row(enc, torch_row: Dict, torch_outs, imgs, ori_shape, device: str, repeats: int, warmup: int,
                    sam_model=None, model_version: str = "", sam_name: Optional[str] = None, log=print,
                    measure=None, miou=None) -> Dict:
    """The ``backend: onnxruntime`` row for the exact torch case ``torch_row`` (CPU execution provider).

    ``measure``, ``miou``: ``radseg.bench.core``'s ``run_case`` and ``miou_between`` (passed in, so
    this module does not import the bench that calls it).
    """
    from .format import require_onnx
    run_case, miou_between = measure, miou
    require_onnx("radseg bench --backend onnxruntime")
    classes = [list(c) for c in enc.classes]
    threads = torch.get_num_threads()
    folder = _scratch() / f"export-{len(list(_scratch().iterdir()))}"
    ort_enc, facts = _ort_encoder(enc, sam_model, torch_row, classes, folder, model_version, sam_name, threads)
    fig = run_case(ort_enc, imgs, ori_shape, device, repeats, warmup)
    outs = fig.pop("_results")
    lt, lo = interleaved_ms(enc, ort_enc, imgs, ori_shape, device, max(repeats, 3))
    feat_err = feature_rel_error(enc, ort_enc, imgs[0])
    agree = [float((o.labels == t.labels).float().mean()) for o, t in zip(outs, torch_outs)]
    row = {**{k: torch_row[k] for k in ("preset", "dataset", "resolution", "image_size", "input_size", "scale",
                                        "crop", "stride", "classes", "refine", "mode", "batch")},
           **fig, "backend": "onnxruntime", "ort_threads": threads, "ort_optimization": "all", **facts,
           "interleaved_torch_ms": round(statistics.median(lt), 3),
           "interleaved_onnxruntime_ms": round(statistics.median(lo), 3),
           "speedup_vs_torch": round(statistics.median(lt) / statistics.median(lo), 3),
           "pixel_agreement_vs_torch": round(sum(agree) / len(agree), 6),
           "miou_vs_torch": round(sum(miou_between(o.labels, t.labels) for o, t in zip(outs, torch_outs))
                                  / len(outs), 3),
           "feature_max_rel_err": float(f"{feat_err:.3g}")}
    log(f"{row['preset']} refine={'on' if row['refine'] else 'off'} onnxruntime batch={row['batch']}: "
        f"median {row['latency_ms']['median']:.1f} ms; interleaved torch {row['interleaved_torch_ms']:.1f} ms / "
        f"onnxruntime {row['interleaved_onnxruntime_ms']:.1f} ms = {row['speedup_vs_torch']:.2f}x, "
        f"labels {100 * row['pixel_agreement_vs_torch']:.3f}% equal")
    return row
