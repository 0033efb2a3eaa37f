"""``radseg bench``, step 2 of 3 (plan -> measure -> compare): load once, build each case, time it.

* :func:`load_models`: the backbone bundle and SAM, once per run (the full-size replicas by default);
* :func:`build_case`: one case's configured RADSeg, ``RADSegPredictor.from_loaded(bundle,
  plan.case_config(...), sam)`` (the same owner and config path as every other command),
  with the case's prompts;
* :func:`run_case`: the timings of one configured encoder on one batch (see
  :mod:`radseg.bench.core` for every figure), and :func:`backbone_limit_fn`, the
  backbone-only limit on the same windows.
"""
from __future__ import annotations

import datetime
import os
import platform
import statistics
from pathlib import Path
from typing import Dict, List, Tuple

import torch
import torch.nn.functional as F

#: stage names of the breakdown, in pipeline order
STAGES = ("windows_backbone", "scga", "project_cosine", "upsample", "regions", "sam_embedding",
          "sam_decoder", "merge")


def device_name(device: str) -> str:
    if torch.device(device).type == "cuda":
        return torch.cuda.get_device_name(torch.device(device))
    return f"CPU {platform.processor() or platform.machine()} ({torch.get_num_threads()} threads, " \
           f"{os.cpu_count()} cores visible)"


def _git_revision():
    from ..results.provenance import git_revision
    return git_revision(Path(__file__).resolve().parents[2])


def run_meta(plan, bundle=None) -> Dict:
    """The report's ``meta``: machine, software, model and the timing settings."""
    cuda = torch.device(plan.device).type == "cuda"
    return {"device": device_name(plan.device), "device_type": torch.device(plan.device).type,
            "torch": torch.__version__, "cuda": torch.version.cuda if cuda else None,
            "cudnn": torch.backends.cudnn.version() if cuda else None, "python": platform.python_version(),
            "git_revision": _git_revision(),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "model_version": plan.model_version, "sam": plan.sam if plan.need_sam else None, "small": plan.small,
            # radio_sam_adaptor, or sam_vit_h_image_encoder on backbones without one (C-RADIOv4)
            "sam_embedding": None if bundle is None else bundle.info.get("sam_embedding"),
            "repeats": plan.repeats, "warmup": plan.warmup, "sam_iou_thresh": plan.sam_iou_thresh,
            "max_windows_per_batch": plan.max_windows_per_batch, "threads": torch.get_num_threads(),
            "workload": plan.workload}


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


def stats(values: List[float]) -> Dict[str, float]:
    """``median``, ``p90``, ``min`` of ``values`` (ms), rounded to 3 decimals."""
    v = sorted(values)
    p90 = v[min(len(v) - 1, int(round(0.9 * (len(v) - 1))))]
    return {"median": round(statistics.median(v), 3), "p90": round(p90, 3), "min": round(v[0], 3)}


def load_models(plan):
    """``(bundle, sam)`` of the plan's backbone (its own adaptors) and, when a case refines, SAM."""
    from ..models import build_radio
    from ..models.sam import load_sam
    bundle = build_radio(plan.model_version, None, need_sam=plan.need_sam, device=plan.device)
    sam = load_sam(plan.sam, device=plan.device) if plan.need_sam else None
    return bundle, sam


def build_case(plan, bundle, sam, preset: str, refine: bool, mode: str, num_classes: int):
    """The case's predictor (``RADSegPredictor.from_loaded``) with ``num_classes`` placeholder prompts,
    their text embeddings computed once, outside the timings."""
    from ..predictor import RADSegPredictor
    pred = RADSegPredictor.from_loaded(bundle, plan.case_config(preset, refine, mode), sam=sam)
    if refine and not 0.0 <= plan.sam_iou_thresh <= 1.0:  # the bench's "keep every mask" (-1)
        pred.encoder.sam_refiner.sam_iou_thresh = float(plan.sam_iou_thresh)
    enc = pred.encoder
    enc.set_classes([f"class {i}" for i in range(num_classes)])
    enc.text_embeddings()
    return pred


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


def _staged(enc, batch, b: int, device: str, repeats: int, counter) -> Tuple[Dict, Dict]:
    """Median ms per stage with the stage timer attached (synchronised on CUDA), and SAM's counts."""
    from .timing import StageTimer
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
    return {s: round(statistics.median([lap.get(s, 0.0) for lap in laps]), 3) for s in names}, sam_counts


def _limit(enc, imgs, device: str, repeats: int, warmup: int) -> Tuple[Dict, int]:
    """The backbone-only limit in the same precision: ``(stats, windows per image)``."""
    from ..core.encoder import _fast_math
    from .timing import sync, timed_ms
    limit_fn, n_windows = backbone_limit_fn(enc, imgs, enc.sam_refiner is not None)
    lim = []
    with _fast_math(enc.fast and torch.device(device).type == "cuda"):
        for _ in range(warmup):
            limit_fn()
        for _ in range(repeats):
            lim.append(timed_ms(limit_fn, device)[1])
    sync(device)
    return stats(lim), n_windows


def run_case(enc, imgs: List[torch.Tensor], ori_shape: Tuple[int, int], device: str, repeats: int,
             warmup: int, counter=None) -> Dict:
    """Time one configured encoder on one batch; returns the figures and the last outputs.

    ``counter``: a :class:`radseg.bench.workload.SamCallCounter` (RADSeg+), read over the staged runs.
    """
    from .compare import ratio_validity
    from .timing import count_syncs, timed_ms
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
    stages, sam_counts = _staged(enc, batch, b, device, repeats, counter)
    syncs = count_syncs(batch, device)[1] if cuda else None  # n/a on the CPU: not run
    limit, n_windows = _limit(enc, imgs, device, repeats, warmup)
    latency = stats(lat)
    ratio = round(latency["median"] / limit["median"], 3)
    return {"latency_ms": latency, "images_per_s": round(1000.0 * b / latency["median"], 3),
            "ms_per_image": round(latency["median"] / b, 3), "stages_ms": stages,
            "syncs_per_image": None if syncs is None else round(syncs / b, 2),
            "peak_gpu_mb": None if peak is None else round(peak, 1),
            "backbone_limit_ms": limit, "ratio_to_limit": ratio, **ratio_validity(ratio),
            "windows": n_windows, **sam_counts, "_results": results}
