"""What a result record says about where its numbers come from, and the record itself.

:func:`build_record` assembles the record ``eval.py`` writes (metrics, per-class values,
settings, the :class:`radseg.config.RADSegConfig` and its hash, versions, revision,
speed); :mod:`radseg.results.records` writes it. No mmseg / mmengine / mmcv imports: the
evaluation hands in what it read from them (the runner's metrics, the config as a dict,
the framework versions).
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

from .. import __version__
from ..presets import RESOLUTIONS


def git_revision(path: Path) -> Optional[str]:
    try:
        out = subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=5)
        rev = out.stdout.strip() if out.returncode == 0 else None
        if rev:
            dirty = subprocess.run(["git", "-C", str(path), "status", "--porcelain", "--untracked-files=no"],
                                   capture_output=True, text=True, timeout=5).stdout.strip()
            return rev + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return None


def versions(modules: Sequence[Any] = (), extra: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    """``{"radseg", "torch", <each of modules by name>, "python", <extra>}``: the versions a
    record keeps. ``modules`` are imported modules (e.g. mmseg, mmengine, mmcv: the caller
    imports them, so this module needs none of them)."""
    import torch
    v = {"radseg": __version__, "torch": torch.__version__}
    for m in modules:
        v[m.__name__] = m.__version__
    v["python"] = platform.python_version()
    v.update(extra or {})
    return v


def resolution_of(config: str) -> Optional[str]:
    """The preset folder a config lies in: a resolution, or ``mess`` (MESS's one preset)."""
    for part in Path(config).parts:
        if part in RESOLUTIONS or part == "mess":
            return part
    return None


def repo_root_for(config_path: str) -> Path:
    """The folder holding ``configs_mmseg`` (the repo), found upwards from the config."""
    p = Path(config_path).resolve().parent
    for cand in [p, *p.parents]:
        if cand.name == "configs_mmseg":
            return cand.parent
    return Path.cwd()


def config_hash(config: Mapping[str, Any]) -> str:
    """First 12 hex digits of the SHA-256 of ``config`` (a ``RADSegConfig.to_dict()``) as
    canonical JSON (sorted keys): equal hashes = the same RADSeg settings."""
    text = json.dumps(dict(config), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def summarize_metrics(metrics: Mapping[str, Any]) -> Dict[str, float]:
    """``aAcc``, ``mIoU``, ``mAcc`` (and ``mBoundaryIoU`` when computed) of the runner's
    metrics, rounded to 2 decimals."""
    return {k: round(float(metrics[k]), 2) for k in ("aAcc", "mIoU", "mAcc", "mBoundaryIoU") if k in metrics}


def per_class_metrics(metrics: Mapping[str, Any], classes: Sequence[str]) -> Dict[str, Dict[str, Optional[float]]]:
    """``{class: {"IoU": .., "Acc": ..}}`` from the metric's ``IoU.<class>`` / ``Acc.<class>``
    (and ``"BoundaryIoU"`` from ``BoundaryIoU.<class>`` when computed)."""
    def _r(v):
        return None if v is None else round(float(v), 2)
    out = {c: {"IoU": _r(metrics.get(f"IoU.{c}")), "Acc": _r(metrics.get(f"Acc.{c}"))} for c in classes}
    if "mBoundaryIoU" in metrics:
        for c in classes:
            out[c]["BoundaryIoU"] = _r(metrics.get(f"BoundaryIoU.{c}"))
    return out


def build_record(*, model: Mapping[str, Any], settings: Dict[str, Any], benchmark: str, config: str,
                 model_info: Mapping[str, Any], allow_unpinned: bool, cfg_options: Sequence[str],
                 data_root: str, predictions_dir: Optional[Path], metrics: Mapping[str, Any],
                 classes: Sequence[str], num_images: int, times: Sequence[float],
                 framework_versions: Mapping[str, str], radseg_config: Optional[Mapping[str, Any]],
                 boundary_iou: Optional[Mapping[str, Any]] = None, random_weights: Sequence[str] = (),
                 dataset_key: Optional[str] = None, label_ignore: Optional[Mapping[str, Any]] = None,
                 own_dataset: Optional[Tuple[Mapping[str, Any], Optional[str]]] = None,
                 method: str = "radseg", protocol: str = "radseg", resolution: Optional[str] = None,
                 method_settings: Optional[Mapping[str, Any]] = None,
                 settings_hash: Optional[str] = None) -> Dict[str, Any]:
    """The result record of one evaluation (before :func:`radseg.results.records.write_run_record`
    adds its schema and status).

    ``model``: the config's ``model`` dict after the command line; ``settings``: the whole
    effective config as a dict; ``benchmark``: the config's benchmark (else its name);
    ``config``: the config path; ``model_info``: the loaded model's facts (version, adaptor,
    source, revision); ``metrics``: the runner's; ``times``: ``(start, runner built, test
    done)`` from ``time.time()``; ``framework_versions``: from :func:`versions`;
    ``radseg_config``: the segmentor's ``RADSegConfig.to_dict()``; ``boundary_iou``:
    ``{"dilation_ratio": r}`` when Boundary IoU was computed (kept as the record's
    ``boundary_iou``; the values are ``metrics.mBoundaryIoU`` and ``per_class.*.BoundaryIoU``);
    ``random_weights``: the parts with random stand-in weights
    (:func:`radseg.results.honesty.random_weight_parts`), from which ``weights`` is derived;
    ``dataset_key``: the dataset-table key (``None`` for other datasets), from which
    ``official_num_images`` and ``subset`` are computed; ``label_ignore``: ADE-847 / PC-459's
    ignore setting; ``own_dataset``: ``(facts, preset)`` of ``eval.py --dataset-dir`` (no
    official count, never a subset; the preset is the record's ``resolution``); ``method`` /
    ``protocol``: the registered method and ``own`` or ``radseg``; ``resolution``: overrides the
    config folder's (``"own"`` for a baseline's own protocol); ``method_settings``: a baseline's
    settings (``to_dict``; RADSeg: ``radseg_config``, whose hash stays the ``config_hash``) and
    ``settings_hash`` its ``config_hash()`` (a baseline's record has ``radseg_config: None``).
    """
    import torch

    from .honesty import PRETRAINED, RANDOM_WEIGHTS, official_count, subset_text
    t0, t_built, t_done = times
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else platform.processor() or "cpu"
    record = {
        "benchmark": benchmark, "config": config, "resolution": resolution or resolution_of(config),
        "model_version": model_info.get("model_version", model.get("model_version")),
        "lang_model": model_info.get("lang_model") or model.get("lang_model"),
        "model_source": model_info.get("source"),
        "model_revision": model_info.get("revision"), "sam_refine": bool(model.get("sam_refine")),
        "allow_unpinned": bool(allow_unpinned),
        "scra_scaling": model.get("scra_scaling"), "scga_scaling": model.get("scga_scaling"),
        "cfg_options": list(cfg_options or []),
        "data_root": os.path.abspath(data_root),
        "predictions_dir": str(predictions_dir) if predictions_dir is not None else None,
        "metrics": summarize_metrics(metrics), "per_class": per_class_metrics(metrics, classes),
        "boundary_iou": dict(boundary_iou) if boundary_iou else None,
        "num_images": num_images,
        "wall_time_s": round(t_done - t0, 3), "test_time_s": round(t_done - t_built, 3),
        "images_per_s": round(num_images / max(t_done - t_built, 1e-9), 4),
        "peak_gpu_mem_mb": (round(torch.cuda.max_memory_allocated() / 2**20, 1)
                            if torch.cuda.is_available() else None),
        "device": device, "world_size": int(os.environ.get("WORLD_SIZE", 1)),
        "hostname": socket.gethostname(), "versions": dict(framework_versions),
        "git_revision": git_revision(repo_root_for(config)),
        "command": sys.argv, "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "settings": settings,
        "radseg_config": dict(radseg_config) if radseg_config is not None else None,
        "config_hash": settings_hash or config_hash(radseg_config),
        "method": method, "protocol": protocol,
        "method_settings": dict(method_settings if method_settings is not None else radseg_config),
    }
    if label_ignore is not None:  # ADE-847 / PC-459: which ignore value scored these numbers
        record["label_ignore"] = dict(label_ignore)
    record["weights"] = RANDOM_WEIGHTS if random_weights else PRETRAINED
    record["random_weights"] = list(random_weights)
    record["official_num_images"] = official_count(dataset_key)
    record["subset"] = subset_text(dataset_key, num_images)
    if own_dataset is not None:  # your own dataset: no official count, never a subset
        record["resolution"] = own_dataset[1]
        record["own_dataset"] = dict(own_dataset[0])
    return record
