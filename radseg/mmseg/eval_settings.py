"""Settings eval.py applies to a loaded config beyond mmengine's overrides: the ADE-847 / PC-459
ignore value (``--label-ignore``), Boundary IoU (``--boundary-iou``), the ``--save-predictions``
folder, and the resize scale the record names. Each returns what the result record keeps.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

from ..dataset_registry import DATASET_REGISTRY as PRESET_DATASETS
from ..errors import ConfigError
from ..eval_args import LABEL_IGNORE


def apply_label_ignore(cfg, choice: Optional[str]) -> Optional[Dict[str, Any]]:
    """Set ``test_evaluator.ignore_index`` from ``--label-ignore`` (else the config's ``label_ignore``).

    Returns what the record keeps (None for a config without the setting). Only datasets whose
    labels use 65535 for unlabeled (the table's ``ignore_values``) take it: a ConfigError otherwise.
    """
    setting = choice if choice is not None else cfg.get("label_ignore")
    if setting is None:
        return None
    setting = str(setting)
    bench = cfg.get("benchmark")
    if setting not in LABEL_IGNORE:
        raise ConfigError(f"label_ignore '{setting}' is not one of {', '.join(LABEL_IGNORE)}.")
    if bench in PRESET_DATASETS and 65535 not in PRESET_DATASETS[bench].ignore_values:
        raise ConfigError(f"--label-ignore is for the 16-bit benchmarks (ade847, pc459), not {bench}: drop it.")
    cfg.label_ignore = setting
    cfg.test_evaluator.ignore_index = LABEL_IGNORE[setting]
    return {"setting": setting, "metric_ignore_index": LABEL_IGNORE[setting],
            "unlabeled_65535": "scored (not masked), as the literature" if setting == "literature" else "ignored"}


def check_predictions_dir(args) -> Optional[Path]:
    """``--save-predictions DIR``: the absolute folder, created and writable (None without it)."""
    if args.save_predictions is None:
        return None
    if not str(args.save_predictions).strip():
        raise ConfigError("--save-predictions is empty: give a folder.")
    out = Path(os.path.abspath(os.path.expanduser(args.save_predictions)))
    try:
        out.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise ConfigError(f"--save-predictions '{args.save_predictions}' is a file (or lies under one); "
                          f"give a folder.") from None
    except OSError as e:
        raise ConfigError(f"cannot create --save-predictions '{args.save_predictions}': {e.strerror}.") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise ConfigError(f"--save-predictions '{args.save_predictions}' is not writable; pick another folder.")
    return out


def configure_boundary_iou(cfg, flag: Optional[bool]) -> Optional[Dict[str, Any]]:
    """``--boundary-iou`` sets ``test_evaluator.boundary_iou``; returns ``{"dilation_ratio": r}``
    when the evaluator computes Boundary IoU (flag or config key), else None."""
    from ..metrics.boundary_iou import DILATION_RATIO
    ev = cfg.get("test_evaluator")
    evaluators = ev if isinstance(ev, (list, tuple)) else [ev]
    ours = [e for e in evaluators if isinstance(e, dict) and e.get("type") == "RADSegIoUMetric"]
    if flag and not ours:
        raise ConfigError(f"--boundary-iou needs test_evaluator type 'RADSegIoUMetric' (the configs' "
                          f"default); this config has {ev!r}.")
    for e in ours if flag else []:
        e["boundary_iou"] = True
    on = [e for e in ours if e.get("boundary_iou") or "mBoundaryIoU" in (e.get("iou_metrics") or [])]
    if not on:
        return None
    return {"dilation_ratio": float(on[0].get("boundary_dilation_ratio", DILATION_RATIO))}


def pipeline_resize_scale(cfg) -> Optional[Tuple[int, int]]:
    """The ``scale`` of the test pipeline's ``Resize`` (what the images are resized to), or None.

    The segmentor receives resized images, so ``model.scale`` never acts in eval.py; it is set
    to this so that the record's ``radseg_config`` names the size actually used."""
    dataset = (cfg.get("test_dataloader") or {}).get("dataset") or {}
    for step in dataset.get("pipeline") or []:
        if isinstance(step, dict) and step.get("type") == "Resize" and step.get("scale") is not None:
            return tuple(int(v) for v in step["scale"])
    return None
