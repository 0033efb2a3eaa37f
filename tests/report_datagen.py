"""Work dirs for ``radseg report`` tests and the README screenshot (no model runs).

* :func:`make_record` writes one run's record with the fields ``eval.py`` writes
  (:mod:`radseg.mmseg.evaluate`), through :func:`radseg.results.records.write_run_record`.
* :func:`make_predictions` writes what ``eval.py --save-predictions DIR`` writes:
  ``DIR/predictions.json`` and palette PNGs of class indices (255 = ignore), for tiny
  synthetic scenes (images and ground-truth label PNGs on disk, the ground truth in the
  benchmark's on-disk convention: with ``reduce_zero_label`` 0 is "other" and class i is i+1).
* :func:`make_work_dir`: a small sweep (datasets x presets x RADSeg/RADSeg+), with
  predictions at chosen presets; :func:`make_large_work_dir`: hundreds of records.

Metrics are synthetic (seeded), shaped like real ones: RADSeg+ a little above RADSeg,
mid/high above low resolution, per-class values spread around the mean.
"""
from __future__ import annotations

import json
import re
import zlib
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
from PIL import Image

from radseg.data.benchmarks import BENCHMARKS
from radseg.results.records import write_run_record
from radseg.visualize import palette

ROOT = Path(__file__).resolve().parents[1]
BASE_MIOU = {"voc20": 79.0, "context59": 45.0, "coco_stuff164k": 30.0, "cityscapes": 38.0,
             "ade20k": 27.0, "voc21": 62.0, "context60": 41.0, "coco_object": 42.0}
RES_GAIN = {"low_res": 0.0, "mid_res": 2.4, "high_res": 1.6}
DATASET_TYPES = {"voc20": "PascalVOC20Dataset", "voc21": "PascalVOCDataset",
                 "context59": "PascalContext59Dataset", "context60": "PascalContextDataset",
                 "coco_stuff164k": "COCOStuffDataset", "coco_object": "COCOObjectDataset",
                 "cityscapes": "CityscapesDataset", "ade20k": "ADE20KDataset"}


def class_names(dataset: str) -> List[str]:
    """The first name of each line of radseg's class-name file (the real class count)."""
    text = (ROOT / "radseg" / "class_names" / f"{dataset}.txt").read_text(encoding="utf-8")
    return [re.split(r"[,;] ", ln.strip())[0] for ln in text.splitlines() if ln.strip()]


def _seed(*parts) -> int:
    return zlib.crc32(repr(parts).encode("utf-8"))


def synthetic_metrics(dataset: str, res: str, refine: bool, model_shift: float = 0.0,
                      seed: int = 0) -> Dict:
    """``(metrics, per_class)`` like mmseg's (percentages, 2 decimals)."""
    names = class_names(dataset)
    rng = np.random.default_rng(_seed(dataset, seed))
    difficulty = rng.normal(0, 18, len(names))  # the same classes are hard in every run
    rng2 = np.random.default_rng(_seed(dataset, res, refine, model_shift, seed))
    base = BASE_MIOU.get(dataset, 40.0) + RES_GAIN.get(res, 0.0) + model_shift
    iou = base + difficulty + rng2.normal(0, 2.0, len(names))
    if refine:
        iou = iou + 1.8 + rng2.normal(0, 2.5, len(names))
    iou = np.clip(iou, 0.5, 99.0)
    acc = np.clip(iou + 9 + rng2.normal(0, 2, len(names)), 1, 99.5)
    per_class = {n: {"IoU": round(float(i), 2), "Acc": round(float(a), 2)}
                 for n, i, a in zip(names, iou, acc)}
    if len(names) > 3:  # a class absent from the split: mmseg reports NaN (None in the record)
        per_class[names[-1]] = {"IoU": None, "Acc": None}
    vals = [v["IoU"] for v in per_class.values() if v["IoU"] is not None]
    accs = [v["Acc"] for v in per_class.values() if v["Acc"] is not None]
    m_iou = round(sum(vals) / len(vals), 2)
    metrics = {"aAcc": round(min(m_iou + 25, 99.0), 2), "mIoU": m_iou,
               "mAcc": round(sum(accs) / len(accs), 2)}
    return {"metrics": metrics, "per_class": per_class}


def make_record(work: Path, dataset: str, res: str, model: str = "c-radio_v3-b",
                refine: bool = False, metrics: Optional[Dict] = None,
                per_class: Optional[Dict] = None, predictions_dir: Optional[Path] = None,
                finished: str = "2026-01-02T10:00:00+0000", images_per_s: float = 4.0,
                device: str = "NVIDIA H100 80GB HBM3", num_images: int = 1449,
                model_shift: float = 0.0, **extra) -> Path:
    """One complete record in ``work`` (as eval.py writes it); returns ``work/result.json``."""
    if metrics is None or per_class is None:
        m = synthetic_metrics(dataset, res, refine, model_shift)
        metrics = metrics or m["metrics"]
        per_class = per_class or m["per_class"]
    config = f"configs_mmseg/{res}/{dataset}.py"
    settings = {
        "model": {"type": "RADSegSegmentation", "model_version": model, "lang_model": "siglip2",
                  "scra_scaling": 10.0, "scga_scaling": 10.0, "sam_refine": refine,
                  "slide_crop": 336, "slide_stride": 224, "class_names": f"{dataset}.txt"},
        "test_dataloader": {"batch_size": 1, "num_workers": 4,
                            "dataset": {"type": DATASET_TYPES.get(dataset, "BaseSegDataset"),
                                        "data_root": f"data/{dataset}"}},
        "benchmark": dataset, "work_dir": str(work),
    }
    test_time = num_images / images_per_s
    rec = {
        "benchmark": dataset, "config": config, "resolution": res, "model_version": model,
        "lang_model": "siglip2", "model_source": "hub",
        "model_revision": "811a7dc5d2e8b1e0c84ad96c3fb8b7e5d2b3f8a1", "sam_refine": refine,
        "scra_scaling": 10.0, "scga_scaling": 10.0, "cfg_options": [],
        "metrics": metrics, "per_class": per_class, "num_images": num_images,
        "wall_time_s": round(test_time + 35.0, 3), "test_time_s": round(test_time, 3),
        "images_per_s": round(images_per_s, 4), "peak_gpu_mem_mb": 5321.4, "device": device,
        "world_size": 1, "hostname": "gpu-node-1",
        "versions": {"radseg": "0.1.0", "torch": "2.14.1", "mmseg": "1.2.2", "mmengine": "0.10.7",
                     "mmcv": "2.1.0", "python": "3.11.2", "mmcv_ops": "radseg shim (mmcv-lite)"},
        "git_revision": "0f3c2a9d41b7e6c58d2f1a0b9c8e7d6f5a4b3c2d",
        "command": ["eval.py", "--config", config], "finished_at": finished, "settings": settings,
    }
    if predictions_dir is not None:
        rec["predictions_dir"] = str(predictions_dir)
    rec.update(extra)
    write_run_record(work, rec, finished.replace(":", "").replace("-", "")[:15], f"{res}_{dataset}")
    return work / "result.json"


# -- images, ground truth, predictions ---------------------------------------------------------------

def _scene(rng: np.random.Generator, h: int, w: int, n_classes: int, colours: np.ndarray):
    """A cartoon scene: two background regions and a few objects. Returns ``(rgb, labels)``
    with labels in 0..n_classes-1 (class indices)."""
    lab = np.zeros((h, w), np.int64)
    cls = rng.choice(n_classes, size=min(n_classes, 5), replace=False)
    horizon = int(h * rng.uniform(0.35, 0.6))
    yy, xx = np.mgrid[0:h, 0:w]
    wave = (np.sin(xx / w * np.pi * rng.uniform(1, 3)) * h * 0.05).astype(int)
    lab[:] = cls[0]
    lab[yy > horizon + wave] = cls[1]
    for c in cls[2:]:
        cy, cx = rng.uniform(0.3, 0.85) * h, rng.uniform(0.15, 0.85) * w
        ry, rx = rng.uniform(0.1, 0.22) * h, rng.uniform(0.08, 0.2) * w
        if rng.random() < 0.5:
            m = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
        else:
            m = (abs(yy - cy) <= ry) & (abs(xx - cx) <= rx)
        lab[m] = c
    shade = (0.75 + 0.35 * (yy / h))[..., None]
    rgb = colours[lab] * shade + rng.normal(0, 9, (h, w, 3))
    return np.clip(rgb, 0, 255).astype(np.uint8), lab


def _corrupt(rng: np.random.Generator, gt: np.ndarray, n_classes: int, block: int, blobs: int):
    """A plausible wrong prediction: blocky boundaries (coarse features) and wrong blobs."""
    h, w = gt.shape
    small = gt[block // 2::block, block // 2::block]
    pred = np.kron(small, np.ones((block, block), np.int64))[:h, :w]
    if pred.shape != gt.shape:
        pred = np.pad(pred, ((0, h - pred.shape[0]), (0, w - pred.shape[1])), mode="edge")
    yy, xx = np.mgrid[0:h, 0:w]
    for _ in range(blobs):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        r = rng.uniform(0.08, 0.2) * min(h, w)
        pred[(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] = int(rng.integers(0, n_classes))
    return pred


def make_predictions(out_dir: Path, data_dir: Path, dataset: str, n_images: int = 6,
                     size=(96, 128), seed: int = 0, quality: str = "coarse",
                     classes: Optional[Sequence[str]] = None) -> Path:
    """Images + ground truth under ``data_dir/<dataset>/`` (written once, shared by runs)
    and ``out_dir/predictions.json`` + ``out_dir/pred/*.png``. ``quality``: "coarse"
    (RADSeg-like) or "refined" (closer to the ground truth, RADSeg+-like)."""
    names = list(classes or class_names(dataset))
    k = len(names)
    pal = palette(k)
    rzl = BENCHMARKS[dataset].reduce_zero_label if dataset in BENCHMARKS else False
    ds_dir = Path(data_dir) / dataset
    colour_rng = np.random.default_rng(1234)
    colours = colour_rng.integers(40, 230, (k, 3)).astype(np.float64)
    items = []
    for i in range(n_images):
        rng = np.random.default_rng(seed * 1000 + i)
        h, w = size if i % 2 == 0 else (size[0] + 8, size[1] - 16)  # sizes differ per image
        rgb, gt = _scene(rng, h, w, k, colours)
        img_path = ds_dir / "images" / f"img_{i:04d}.jpg"
        gt_path = ds_dir / "labels" / f"img_{i:04d}.png"
        if not img_path.exists():
            img_path.parent.mkdir(parents=True, exist_ok=True)
            gt_path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(rgb).save(img_path, quality=92)
            disk = gt + 1 if rzl else gt.copy()
            edge = np.zeros_like(gt, bool)
            edge[1:, :] |= gt[1:, :] != gt[:-1, :]
            edge[:, 1:] |= gt[:, 1:] != gt[:, :-1]
            if dataset.startswith("voc"):
                disk[edge] = 255  # VOC's ignore band on object boundaries
            Image.fromarray(disk.astype(np.uint8), "L").save(gt_path)
        prng = np.random.default_rng(seed * 7919 + i * 31 + (0 if quality == "coarse" else 1))
        if quality == "coarse":
            pred = _corrupt(prng, gt, k, block=8, blobs=1 + i % 3)
        else:
            pred = _corrupt(prng, gt, k, block=2, blobs=int(i % 3 == 0))
        rel = f"pred/img_{i:04d}.png"
        p = Path(out_dir) / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        im = Image.fromarray(pred.astype(np.uint8), "P")
        full = np.zeros((256, 3), np.uint8)
        full[:k] = pal
        im.putpalette(full.flatten().tolist())
        im.save(p)
        items.append({"img_path": str(img_path.resolve()), "seg_map_path": str(gt_path.resolve()),
                      "pred": rel})
    meta = {"dataset": dataset, "classes": names, "palette": pal.tolist(), "items": items}
    (Path(out_dir) / "predictions.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return Path(out_dir)


def run_dir(root: Path, model: str, refine: bool, res: str, dataset: str) -> Path:
    """The sweep's folder layout: ``<root>/<model>/<refine|norefine>/<preset>/<dataset>``."""
    return Path(root) / model / ("refine" if refine else "norefine") / res / dataset


def make_work_dir(root, datasets=("voc20", "ade20k"), resolutions=("low_res", "mid_res", "high_res"),
                  models=("c-radio_v3-b",), predictions_at=("mid_res",), n_images: int = 6,
                  data_dir: Optional[Path] = None) -> Path:
    """A small sweep with records for every cell, RADSeg and RADSeg+, and saved
    predictions (``n_images`` per dataset) of the first model at the presets in
    ``predictions_at``."""
    root = Path(root)
    data_dir = Path(data_dir or root.parent / (root.name + "_data"))
    for mi, model in enumerate(models):
        for res in resolutions:
            for ds in datasets:
                for refine in (False, True):
                    work = run_dir(root, model, refine, res, ds)
                    pred = None
                    if res in predictions_at and mi == 0:
                        pred = make_predictions(work / "predictions", data_dir, ds, n_images,
                                                quality="refined" if refine else "coarse")
                    make_record(work, ds, res, model, refine, predictions_dir=pred,
                                model_shift=-3.0 * mi,
                                images_per_s=(1.6 if refine else 5.2) * (0.6 if res == "high_res" else 1.0),
                                num_images=BENCHMARKS[ds].val_count if ds in BENCHMARKS else 100)
    return root


def make_large_work_dir(root, n_models: int = 10, n_images: int = 0, **kw) -> Path:
    """``n_models`` x 2 refinements x 3 presets x the 5 paper datasets (300 records for 10)."""
    models = [f"c-radio_v3-b-seed{i}" for i in range(n_models)]
    return make_work_dir(root, datasets=("voc20", "context59", "coco_stuff164k", "cityscapes", "ade20k"),
                         models=models, predictions_at=("mid_res",) if n_images else (),
                         n_images=n_images, **kw)
