"""The measurements of ``radseg bench`` (docs/BENCHMARKS.md explains every figure).

For each case (preset x refinement x mode x batch size) on synthetic images of the
preset's real size:

* ``latency_ms`` median / p90 per batch and ``images_per_s`` (= batch / median), end to
  end through :meth:`RADSegEncoder.predict_batch` (``predict`` for batch 1), with no
  timer attached (only one synchronisation after each batch on CUDA);
* ``stages_ms``: median per stage with the stage timer attached (synchronised on CUDA);
* ``syncs_per_image``: device-host synchronisations counted with
  ``torch.cuda.set_sync_debug_mode("warn")`` (``None`` = n/a on the CPU);
* ``peak_gpu_mb``: ``torch.cuda.max_memory_allocated`` over the timed runs;
* ``backbone_limit_ms``: the same windows (and, with refinement, the 1024 px pass)
  through the bare backbone (SCRA included, same precision), nothing else;
  ``ratio_to_limit`` = median latency / median limit. The pipeline runs those windows and
  more, so a ratio below 1 cannot be right (noise, a cold first call): such a row has
  ``measurement_valid: false`` and an ``invalid_reason``, and the tables print it as invalid.
  Every mode's pipeline and limit are warmed up at least once before they are timed;
* RADSeg+ rows: ``sam_regions_per_image``, ``sam_classes_per_image`` (prompt-encoder
  calls) and ``sam_decoder_calls_per_image`` counted over the staged runs, under the
  ``workload`` (:mod:`radseg.bench.workload`: peaked prompts by default, so that regions
  form on random weights); a row that prompted no region gets ``note`` = "not measuring
  refinement";
* fast-mode rows: ``pixel_agreement`` and ``miou_vs_exact`` (mIoU of the fast labels
  taking the exact labels as ground truth, %) against the exact row of the same case,
  and ``speedup_vs_exact``.
"""
from __future__ import annotations

import datetime
import os
import platform
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F

from ..errors import ConfigError
from ..results.provenance import git_revision

#: stage names of the breakdown, in pipeline order
STAGES = ("windows_backbone", "scga", "project_cosine", "upsample", "regions", "sam_embedding",
          "sam_decoder", "merge")


@dataclass(frozen=True)
class BenchPreset:
    """A benchmark preset: dataset (radseg.presets key), resolution, a typical image size ``(H0, W0)``."""
    dataset: str
    resolution: str
    image_size: Tuple[int, int]


_IMAGE_SIZES = {"voc": ("voc20", (375, 500)), "context": ("context59", (375, 500)),
                "coco_stuff": ("coco_stuff164k", (480, 640)), "cityscapes": ("cityscapes", (1024, 2048)),
                "ade20k": ("ade20k", (512, 683))}
BENCH_PRESETS: Dict[str, BenchPreset] = {
    f"{short}_{res}": BenchPreset(ds, f"{res}_res", size)
    for short, (ds, size) in _IMAGE_SIZES.items() for res in ("low", "mid", "high")}
#: the issue's set (``--preset default``)
DEFAULT_PRESETS = ("voc_low", "voc_mid", "voc_high", "cityscapes_mid", "cityscapes_high", "ade20k_high",
                   "coco_stuff_high")


def resolve_presets(names: Sequence[str]) -> List[str]:
    out: List[str] = []
    for n in names:
        group = DEFAULT_PRESETS if n == "default" else tuple(BENCH_PRESETS) if n == "all" else (n,)
        for g in group:
            if g not in BENCH_PRESETS:
                raise ConfigError(f"unknown bench preset '{g}'; use one of {', '.join(BENCH_PRESETS)}, "
                                  f"'default' or 'all'.")
            if g not in out:
                out.append(g)
    return out


def check_device(name: Optional[str]) -> str:
    """:func:`radseg.predictor.resolve_device`, limited to what the benchmark times (cpu, cuda)."""
    from ..predictor import resolve_device
    dev = resolve_device(name)
    if dev.type not in ("cpu", "cuda"):
        raise ConfigError(f"--device {name}: radseg bench runs on cpu or cuda.")
    return str(dev) if name is None else name


def device_name(device: str) -> str:
    if torch.device(device).type == "cuda":
        return torch.cuda.get_device_name(torch.device(device))
    return f"CPU {platform.processor() or platform.machine()} ({torch.get_num_threads()} threads, " \
           f"{os.cpu_count()} cores visible)"


def synthetic_images(n: int, size: Tuple[int, int], seed: int = 0) -> List[torch.Tensor]:
    """``n`` smooth random RGB images (large uniform-ish areas, like photos), CLIP-normalised ``1 x 3 x H x W``."""
    from ..preprocess import normalize_image
    out = []
    for i in range(n):
        g = torch.Generator().manual_seed(seed + i)
        low = torch.rand(1, 3, 5, 7, generator=g) * 255.0
        img = F.interpolate(low, size=size, mode="bilinear", align_corners=False)
        out.append(normalize_image(img))
    return out


def miou_between(pred: torch.Tensor, ref: torch.Tensor) -> float:
    """mIoU (%) of ``pred`` against ``ref`` taken as ground truth, over the classes in either."""
    classes = torch.unique(torch.cat([pred.reshape(-1), ref.reshape(-1)]))
    ious = []
    for c in classes.tolist():
        a, b = pred == c, ref == c
        union = (a | b).sum().item()
        ious.append((a & b).sum().item() / union)
    return 100.0 * sum(ious) / max(1, len(ious))


def _stats(values: List[float]) -> Dict[str, float]:
    v = sorted(values)
    p90 = v[min(len(v) - 1, int(round(0.9 * (len(v) - 1))))]
    return {"median": round(statistics.median(v), 3), "p90": round(p90, 3), "min": round(v[0], 3)}


def _window_crops(enc, img: torch.Tensor) -> torch.Tensor:
    """The windows the pipeline sends through the backbone for ``img`` (``B x 3 x H x W``)."""
    from ..core.sliding_windows import resize_to_stride, window_grid
    x = resize_to_stride(img, enc.slide_crop, enc.slide_stride)
    boxes = window_grid(x.shape[-2], x.shape[-1], enc.slide_crop, enc.slide_stride)
    crops = torch.stack([x[:, :, y1:y2, x1:x2] for (y1, y2, x1, x2) in boxes], dim=1)
    return crops.reshape(-1, *crops.shape[2:])


def backbone_limit_fn(enc, imgs: List[torch.Tensor], refine: bool):
    """A closure running only the backbone on the pipeline's windows (+ the 1024 px pass)."""
    from ..core.encoder import auto_window_cap
    from ..core.sam_refine import sam_input_size
    crops = _window_crops(enc, torch.cat(imgs))
    cap = enc.max_windows_per_batch
    if cap == "auto":
        cap = auto_window_cap(enc, crops, enc.slide_crop)
    cap = cap if cap and cap > 0 else crops.shape[0]
    sam_inputs = ([F.interpolate(im, size=sam_input_size(im.shape[-2], im.shape[-1]), mode="bilinear",
                                 align_corners=False) for im in imgs] if refine else [])

    def run():
        with torch.no_grad():
            for i in range(0, crops.shape[0], cap):
                enc.backbone_features(crops[i:i + cap])
            for x in sam_inputs:
                enc.backbone_features(x)
    return run, crops.shape[0] // len(imgs)


def ratio_validity(ratio: float) -> Dict:
    """``measurement_valid`` (and ``invalid_reason``) of a row from its ratio to the backbone limit:
    the pipeline sends the same windows through the same backbone and does more, so below 1 is noise."""
    if ratio >= 1.0:
        return {"measurement_valid": True}
    return {"measurement_valid": False,
            "invalid_reason": f"ratio {ratio:.2f} < 1: faster than the backbone alone on the same windows, "
                              f"which cannot be (timing noise or a cold call); rerun with more --repeats"}


def run_case(enc, imgs: List[torch.Tensor], ori_shape: Tuple[int, int], device: str, repeats: int,
             warmup: int, counter=None) -> Dict:
    """Time one configured encoder on one batch; returns the figures and the last outputs.

    ``counter``: a :class:`radseg.bench.workload.SamCallCounter` (RADSeg+), read over the staged runs.
    """
    from ..core.encoder import _fast_math
    from .timing import StageTimer, count_syncs, sync, timed_ms
    cuda = torch.device(device).type == "cuda"
    b = len(imgs)
    shapes = [ori_shape] * b

    def batch():
        if b == 1:
            return [enc.predict(imgs[0], ori_shape)]
        return enc.predict_batch(imgs, shapes)

    enc.timer = None
    for _ in range(warmup):
        batch()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    lat = []
    results = None
    for _ in range(repeats):
        results, ms = timed_ms(batch, device)
        lat.append(ms)
    peak = torch.cuda.max_memory_allocated() / 2 ** 20 if cuda else None
    # per-stage breakdown (timer attached: synchronised stages on CUDA)
    enc.timer = StageTimer(device)
    if counter is not None:
        counter.reset()
    for _ in range(min(repeats, 5)):
        batch()
        enc.timer.lap()
    laps = enc.timer.laps
    sam_counts = {} if counter is None else counter.per_image(len(laps) * b)
    enc.timer = None
    names = [s for s in STAGES if any(s in lap for lap in laps)]
    stages = {s: round(statistics.median([lap.get(s, 0.0) for lap in laps]), 3) for s in names}
    syncs = count_syncs(batch, device)[1] if cuda else None  # n/a on the CPU: not run
    # backbone-only limit, in the same precision
    limit_fn, n_windows = backbone_limit_fn(enc, imgs, enc.sam_refiner is not None)
    lim = []
    with _fast_math(enc.fast and cuda):
        for _ in range(warmup):
            limit_fn()
        for _ in range(repeats):
            lim.append(timed_ms(limit_fn, device)[1])
    sync(device)
    latency, limit = _stats(lat), _stats(lim)
    ratio = round(latency["median"] / limit["median"], 3)
    return {"latency_ms": latency, "images_per_s": round(1000.0 * b / latency["median"], 3),
            "ms_per_image": round(latency["median"] / b, 3), "stages_ms": stages,
            "syncs_per_image": None if syncs is None else round(syncs / b, 2),
            "peak_gpu_mb": None if peak is None else round(peak, 1),
            "backbone_limit_ms": limit, "ratio_to_limit": ratio, **ratio_validity(ratio),
            "windows": n_windows, **sam_counts, "_results": results}


def run_bench(presets: Sequence[str] = DEFAULT_PRESETS, model_version: str = "c-radio_v3-b-random",
              sam: str = "sam-vit-h-random", device: Optional[str] = None, refine: Sequence[bool] = (False, True),
              modes: Sequence[str] = ("exact", "fast"), batches: Sequence[int] = (1,), repeats: int = 10,
              warmup: int = 2, small: bool = False, max_windows_per_batch="auto", sam_iou_thresh: float = -1.0,
              workload: str = "peaked", log=print, backends: Sequence[str] = ("torch",)) -> Dict:
    """Run every case and return the report (``{"meta": ..., "results": [...]}``, JSON-ready).

    ``workload``: the class prompts (:mod:`radseg.bench.workload`): ``peaked`` (regions form on
    random weights; the same prompts for every mode and refinement of a case) or ``random``.
    ``backends``: with ``onnxruntime``, each exact torch row is followed by its ONNX Runtime row
    (:func:`radseg.deploy.bench.onnxruntime_row`; the torch row is always measured, as the reference).
    """
    from ..core.encoder import RADSegEncoder
    from ..core.sam_refine import SAMRefiner
    from ..models import build_radio
    from ..models.replicas import SMALL_NAMES
    from ..models.sam import load_sam
    from ..preprocess import rescale_size
    from ..presets import get_dataset
    from .workload import NOT_MEASURING, WORKLOADS, SamCallCounter, present_classes, use_workload
    device = check_device(device)
    names = resolve_presets(presets)
    for be in backends:
        if be not in ("torch", "onnxruntime"):
            raise ConfigError(f"unknown backend '{be}': use torch and/or onnxruntime.")
    if "onnxruntime" in backends:
        from ..deploy.format import require_onnx
        require_onnx("radseg bench --backend onnxruntime")
        if torch.device(device).type != "cpu":
            raise ConfigError("radseg bench --backend onnxruntime measures the CPU execution provider: "
                              "add --device cpu (GPU providers: docs/DEPLOY.md).")
    for m in modes:
        if m not in ("exact", "fast"):
            raise ConfigError(f"unknown mode '{m}': use exact, fast or both.")
    if workload not in WORKLOADS:
        raise ConfigError(f"unknown workload '{workload}': use {' or '.join(WORKLOADS)}.")
    if any(int(b) < 1 for b in batches) or repeats < 1:
        raise ConfigError("batch sizes and --repeats must be >= 1.")
    if warmup < 1:  # a cold first call (allocations, kernel selection) is not a speed figure
        raise ConfigError(f"--warmup must be >= 1 (got {warmup}): every mode is warmed up before it is timed.")
    if small:
        model_version = SMALL_NAMES.get(model_version, model_version)
        sam = SMALL_NAMES.get(sam, sam)
    need_sam = any(refine)
    bundle = build_radio(model_version, None, need_sam=need_sam, device=device)  # the version's own adaptor
    sam_model = load_sam(sam, device=device) if need_sam else None
    meta = {"device": device_name(device), "device_type": torch.device(device).type, "torch": torch.__version__,
            "cuda": torch.version.cuda if torch.device(device).type == "cuda" else None,
            "cudnn": torch.backends.cudnn.version() if torch.device(device).type == "cuda" else None,
            "python": platform.python_version(), "git_revision": git_revision(Path(__file__).resolve().parents[2]),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "model_version": model_version, "sam": sam if need_sam else None, "small": bool(small),
            # radio_sam_adaptor, or sam_vit_h_image_encoder on backbones without one (C-RADIOv4)
            "sam_embedding": bundle.info.get("sam_embedding"),
            "repeats": repeats, "warmup": warmup, "sam_iou_thresh": sam_iou_thresh,
            "max_windows_per_batch": max_windows_per_batch, "threads": torch.get_num_threads(),
            "workload": workload}
    results: List[Dict] = []
    exact_out: Dict[tuple, Dict] = {}
    for name in names:
        bp = BENCH_PRESETS[name]
        facts = get_dataset(bp.dataset)
        pre = facts.preset(bp.resolution)
        h0, w0 = bp.image_size
        scale = tuple(pre.scale)
        if small:
            h0, w0 = max(32, h0 // 4), max(32, w0 // 4)
            scale = (max(scale) // 4, min(scale) // 4)
        input_size = rescale_size(h0, w0, scale)
        for b in batches:
            imgs = [x.to(device) for x in synthetic_images(int(b), input_size)]
            prompts = None  # the case's class prompts, made once (by its first encoder) for every row
            for ref in refine:
                for mode in modes:
                    refiner = (SAMRefiner(sam_model, coarse_thresh=facts.coarse_thresh, sam_iou_thresh=sam_iou_thresh)
                               if ref else None)
                    enc = RADSegEncoder(bundle, slide_crop=pre.slide_crop, slide_stride=pre.slide_stride,
                                        max_windows_per_batch=max_windows_per_batch, text_disk_cache=False,
                                        sam_refiner=refiner, fast=(mode == "fast"))
                    enc.set_classes([f"class {i}" for i in range(facts.num_classes)])
                    enc.text_embeddings()  # once per class list, outside the timings
                    if prompts is None:
                        peaked = use_workload(enc, imgs, workload, present_classes(bp.dataset, facts.num_classes))
                        prompts = enc.text_embeddings()
                    enc.set_text_embeddings(prompts)  # every mode and refinement row: the same prompts
                    counter = SamCallCounter(sam_model) if ref else None
                    try:
                        fig = run_case(enc, imgs, (h0, w0), device, repeats, warmup, counter)
                    finally:
                        if counter is not None:
                            counter.close()
                    outs = fig.pop("_results")
                    row = {"preset": name, "dataset": bp.dataset, "resolution": bp.resolution,
                           "image_size": [h0, w0], "input_size": list(input_size), "scale": list(scale),
                           "crop": pre.slide_crop, "stride": pre.slide_stride, "classes": facts.num_classes,
                           "refine": bool(ref), "mode": mode, "batch": int(b), "workload": workload,
                           "peaked_classes": peaked, **fig}
                    if ref and not fig["sam_regions_per_image"]:
                        row["note"] = NOT_MEASURING
                    key = (name, bool(ref), int(b))
                    if mode == "exact":
                        exact_out[key] = {"labels": [o.labels for o in outs], "row": row}
                        if b > 1:  # per-image predict must give the same bits as the batched call
                            single = [enc.predict(im, (h0, w0)) for im in imgs]
                            row["batch_bit_identical"] = all(
                                torch.equal(s.labels, o.labels) and torch.equal(s.probs, o.probs)
                                for s, o in zip(single, outs))
                    elif key in exact_out:
                        ex = exact_out[key]
                        agree = [float((o.labels == e).float().mean()) for o, e in zip(outs, ex["labels"])]
                        row["pixel_agreement"] = round(sum(agree) / len(agree), 6)
                        row["miou_vs_exact"] = round(sum(miou_between(o.labels, e) for o, e in
                                                         zip(outs, ex["labels"])) / len(outs), 3)
                        row["speedup_vs_exact"] = round(row["images_per_s"] / ex["row"]["images_per_s"], 3)
                        row["ratio_to_exact_limit"] = round(
                            row["latency_ms"]["median"] / ex["row"]["backbone_limit_ms"]["median"], 3)
                    results.append(row)
                    log(f"{name} refine={'on' if ref else 'off'} {mode} batch={b}: "
                        f"{row['images_per_s']:.2f} img/s, median {row['latency_ms']['median']:.1f} ms, "
                        f"backbone limit {row['backbone_limit_ms']['median']:.1f} ms, "
                        f"ratio {row['ratio_to_limit']:.2f}"
                        + ("" if row["measurement_valid"] else " INVALID (below 1: not a result)")
                        + (f", SAM regions/img {row['sam_regions_per_image']:g}, decoder calls/img "
                           f"{row['sam_decoder_calls_per_image']:g}" if ref else "")
                        + (f" ({row['note']})" if "note" in row else ""))
                    if "onnxruntime" in backends and mode == "exact":  # the same case through ONNX Runtime
                        from ..deploy.bench import onnxruntime_row
                        row["backend"] = "torch"
                        results.append(onnxruntime_row(enc, row, outs, imgs, (h0, w0), device, repeats, warmup,
                                                       sam_model=sam_model, model_version=model_version,
                                                       sam_name=sam, log=log, measure=run_case,
                                                       miou=miou_between))
                    del enc
    return {"meta": meta, "results": results}
