"""Markdown rendering of a ``radseg bench`` report."""
from __future__ import annotations

from typing import Dict, List


def _f(v, nd=1):
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.{nd}f}"
    return str(v)


def markdown_table(report: Dict) -> str:
    """Two tables: the summary (one row per case) and the per-stage breakdown."""
    from .core import STAGES
    m = report["meta"]
    lines = [f"Device: {m['device']} | torch {m['torch']} | CUDA {m.get('cuda') or 'n/a'} | "
             f"git {m.get('git_revision') or 'n/a'} | model {m['model_version']} | SAM {m['sam']}"
             + (f" via {m['sam_embedding']}" if m.get("sam_embedding") else "")
             + (" | **--small** (shrunk images, stand-in sizes)" if m.get("small") else ""), ""]
    lines += ["| preset | image | input | windows | K | refine | mode | batch | img/s | median ms | p90 ms | "
              "backbone limit ms | ratio | peak MB | syncs/img | agreement | mIoU vs exact |",
              "|---|---|---|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in report["results"]:
        lines.append("| " + " | ".join([
            r["preset"], "x".join(map(str, r["image_size"])), "x".join(map(str, r["input_size"])),
            str(r["windows"]), str(r["classes"]), "on" if r["refine"] else "off", r["mode"], str(r["batch"]),
            _f(r["images_per_s"], 2), _f(r["latency_ms"]["median"]), _f(r["latency_ms"]["p90"]),
            _f(r["backbone_limit_ms"]["median"]), _f(r["ratio_to_limit"], 2), _f(r["peak_gpu_mb"]),
            _f(r["syncs_per_image"]), _f(r.get("pixel_agreement"), 4), _f(r.get("miou_vs_exact"), 2)]) + " |")
    lines += ["", "Per-stage breakdown, median ms per batch (share of the staged total):", "",
              "| preset | refine | mode | batch | " + " | ".join(STAGES) + " |",
              "|---|---|---|---:|" + "---:|" * len(STAGES)]
    for r in report["results"]:
        st = r["stages_ms"]
        tot = sum(v for v in st.values()) or 1.0
        cells = [f"{st[s]:.1f} ({100 * st[s] / tot:.0f}%)" if s in st else "-" for s in STAGES]
        lines.append(f"| {r['preset']} | {'on' if r['refine'] else 'off'} | {r['mode']} | {r['batch']} | "
                     + " | ".join(cells) + " |")
    plus = [r for r in report["results"] if r["refine"]]
    if plus:
        lines += ["", f"RADSeg+ workload ({m.get('workload', 'n/a')} prompts, radseg/bench/workload.py): per image, "
                      "classes with regions, SAM regions and mask-decoder calls:", "",
                  "| preset | mode | batch | peaked classes | classes with regions | regions | decoder calls | note |",
                  "|---|---|---:|---:|---:|---:|---:|---|"]
        for r in plus:
            lines.append(f"| {r['preset']} | {r['mode']} | {r['batch']} | {r.get('peaked_classes', 'n/a')} | "
                         f"{_f(r.get('sam_classes_per_image'), 2)} | {_f(r.get('sam_regions_per_image'), 2)} | "
                         f"{_f(r.get('sam_decoder_calls_per_image'), 2)} | "
                         + (f"**{r['note']}**" if r.get("note") else "") + " |")
    return "\n".join(lines) + "\n"
