"""``radseg bench``, step 3 of 3 (plan -> measure -> compare): figures relative to another row.

* :func:`ratio_validity`: a row's ratio to its backbone-only limit below 1 cannot be right
  (the pipeline runs those windows and more): ``measurement_valid: false`` and the reason;
* :func:`compare_to_exact`: a fast-mode row against the exact row of its case
  (``pixel_agreement``, ``miou_vs_exact``, ``speedup_vs_exact``, ``ratio_to_exact_limit``);
* :func:`batch_bit_identical`: per-image ``predict`` against the batched call;
* :func:`ratios_to_radseg`: each method row against RADSeg's row of the same preset.
"""
from __future__ import annotations

from typing import Dict, List, Optional

import torch


def miou_between(pred: torch.Tensor, ref: torch.Tensor) -> float:
    """mIoU (%) of ``pred`` against ``ref`` taken as ground truth, over the classes in either."""
    classes = torch.unique(torch.cat([pred.reshape(-1), ref.reshape(-1)]))
    ious = []
    for c in classes.tolist():
        a, b = pred == c, ref == c
        union = (a | b).sum().item()
        ious.append((a & b).sum().item() / union)
    return 100.0 * sum(ious) / max(1, len(ious))


def ratio_validity(ratio: float) -> Dict:
    """``measurement_valid`` (and ``invalid_reason``) of a row from its ratio to the backbone limit:
    the pipeline sends the same windows through the same backbone and does more, so below 1 is noise."""
    if ratio >= 1.0:
        return {"measurement_valid": True}
    return {"measurement_valid": False,
            "invalid_reason": f"ratio {ratio:.2f} < 1: faster than the backbone alone on the same windows, "
                              f"which cannot be (timing noise or a cold call); rerun with more --repeats"}


def compare_to_exact(row: Dict, outs: List, exact_row: Dict, exact_labels: List[torch.Tensor]) -> Dict:
    """The fast row's agreement with and speed-up over the exact row of the same case."""
    agree = [float((o.labels == e).float().mean()) for o, e in zip(outs, exact_labels)]
    return {"pixel_agreement": round(sum(agree) / len(agree), 6),
            "miou_vs_exact": round(sum(miou_between(o.labels, e) for o, e in zip(outs, exact_labels)) / len(outs), 3),
            "speedup_vs_exact": round(row["images_per_s"] / exact_row["images_per_s"], 3),
            "ratio_to_exact_limit": round(row["latency_ms"]["median"] / exact_row["backbone_limit_ms"]["median"], 3)}


def batch_bit_identical(enc, imgs: List[torch.Tensor], ori_shape, outs: List) -> bool:
    """Per-image ``predict`` gives the same bits as the batched call's ``outs``."""
    single = [enc.predict(im, ori_shape) for im in imgs]
    return all(torch.equal(s.labels, o.labels) and torch.equal(s.probs, o.probs) for s, o in zip(single, outs))


def _ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return None if a is None or not b else round(a / b, 3)


def ratios_to_radseg(rows: List[Dict]) -> None:
    """Fill ``ratio_to_radseg`` (``ms``, ``params``) of each method row from RADSeg's row of the same
    preset in the same run (``None`` where RADSeg's row is missing or measured nothing)."""
    base = {r["preset"]: r for r in rows if r["method"] == "radseg"}
    for r in rows:
        b = base.get(r["preset"])
        r["ratio_to_radseg"] = {"ms": _ratio(r.get("ms_median"), b and b.get("ms_median")),
                                "params": _ratio(r["params"].get("total"), b and b["params"].get("total"))}
        if b is None:
            r["notes"].append("no radseg row in this run: no ratio")
