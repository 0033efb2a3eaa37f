"""Markdown rendering of a ``radseg bench`` report."""
from __future__ import annotations

from typing import Dict, List

from .plan import row_label


def _f(v, nd=1):
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.{nd}f}"
    return str(v)


def _ratio(row: Dict) -> str:
    """The ratio cell: a ratio below 1 (faster than the backbone alone) is shown as invalid."""
    if row.get("measurement_valid", True):
        return _f(row["ratio_to_limit"], 2)
    return f"**invalid** ({row['ratio_to_limit']:.2f} < 1)"


def notes(report: Dict) -> List[str]:
    """The lines under the summary table: invalid rows, and what ``--small`` is."""
    out: List[str] = []
    bad = [r for r in report["results"] if not r.get("measurement_valid", True)]
    if bad:
        out += ["", f"**{len(bad)} invalid measurement(s)**: a ratio below 1 means the pipeline timed faster "
                    "than the backbone alone on the same windows, which cannot be (noise on a shared machine, "
                    "a cold call). Those rows are not results; rerun with more --repeats / --warmup."]
    if report["meta"].get("small"):
        out += ["", "**--small is a harness check, not a speed figure**: quarter-size images and stand-in "
                    "model sizes, so every number above only shows that each mode and stage runs."]
    return out


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
            str(r["windows"]), str(r["classes"]), "on" if r["refine"] else "off",
            r["mode"] + (" (onnxruntime)" if r.get("backend") == "onnxruntime" else ""), str(r["batch"]),
            _f(r["images_per_s"], 2), _f(r["latency_ms"]["median"]), _f(r["latency_ms"]["p90"]),
            _f(r["backbone_limit_ms"]["median"]), _ratio(r), _f(r["peak_gpu_mb"]),
            _f(r["syncs_per_image"]), _f(r.get("pixel_agreement"), 4), _f(r.get("miou_vs_exact"), 2)]) + " |")
    ort = [r for r in report["results"] if r.get("backend") == "onnxruntime"]
    if ort:
        lines += ["",
                  "ONNX Runtime (CPU execution provider) against torch, exact mode; ratio from interleaved runs:", "",
                  "| preset | refine | batch | torch ms | onnxruntime ms | speedup | labels equal | mIoU vs torch | "
                  "feature rel. err | export MB | session start s |",
                  "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in ort:
            lines.append(f"| {r['preset']} | {'on' if r['refine'] else 'off'} | {r['batch']} | "
                         f"{_f(r['interleaved_torch_ms'])} | {_f(r['interleaved_onnxruntime_ms'])} | "
                         f"{_f(r['speedup_vs_torch'], 2)}x | {100 * r['pixel_agreement_vs_torch']:.3f}% | "
                         f"{_f(r['miou_vs_torch'], 2)} | {r['feature_max_rel_err']:.2g} | {_f(r['export_mb'])} | "
                         f"{_f(r['session_start_s'], 2)} |")
    lines += notes(report)
    lines += ["", "Per-stage breakdown, median ms per batch (share of the staged total):", "",
              "| preset | refine | mode | batch | " + " | ".join(STAGES) + " |",
              "|---|---|---|---:|" + "---:|" * len(STAGES)]
    for r in report["results"]:
        st = r["stages_ms"]
        tot = sum(v for v in st.values()) or 1.0
        cells = [f"{st[s]:.1f} ({100 * st[s] / tot:.0f}%)" if s in st else "-" for s in STAGES]
        mode = r["mode"] + (" (onnxruntime)" if r.get("backend") == "onnxruntime" else "")
        lines.append(f"| {r['preset']} | {'on' if r['refine'] else 'off'} | {mode} | {r['batch']} | "
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


def _millions(n) -> str:
    return "n/a" if n is None else f"{n / 1e6:.1f} M"


def _giga(n) -> str:
    return "n/a" if n is None else f"{n / 1e9:.2f} G"


def _x(v) -> str:
    return "n/a" if v is None else f"{v:.2f}x"


def methods_markdown(report: Dict) -> str:
    """``radseg bench --methods``: one row per method and preset, then the per-model parameters and
    per-stage FLOPs, then the notes (random weights, rows that measured nothing, speeds below the limit)."""
    m = report.get("meta", {})
    lines = [f"Machine: {report['machine']} | device: {report['device']} | torch {m.get('torch', 'n/a')} | "
             f"git {m.get('git_revision') or 'n/a'} | repeats {m.get('repeats')} (interleaved), warm-up "
             f"{m.get('warmup')} | peak memory: {m.get('peak_memory', 'n/a')}"
             + (f" (a process that only imports: {m['baseline_rss_mib']:.0f} MiB)" if m.get("baseline_rss_mib")
                else "")
             + (" | **random weights**" if report.get("random_weights") else "")
             + (" | **--small** (shrunk images, stand-in sizes: a harness check)" if m.get("small") else ""), "",
             "| method | preset | image | K | ms/img median | IQR | params | FLOPs/img | peak MiB | "
             "limit ms | ms vs radseg | params vs radseg | notes |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in report["rows"]:
        rr = r.get("ratio_to_radseg") or {}
        notes = "; ".join(n for n in r["notes"] if not n.startswith("random weights"))
        lines.append("| " + " | ".join([
            row_label(r), r["preset"], "x".join(map(str, r["image_size"])), str(r["classes"]),
            _f(r["ms_median"]), _f(r["ms_iqr"]), _millions(r["params"].get("total")),
            _giga(r["flops"].get("total")), _f(r["peak_mem_mib"], 0), _f(r.get("limit_ms")),
            _x(rr.get("ms")), _x(rr.get("params")), f"**{notes}**" if notes else ""]) + " |")
    lines += ["", "Parameters per model, FLOPs and median ms per stage (or per model); the input the method "
                  "ran at:", "", "| method | preset | input | parameters | FLOPs | ms per stage |",
              "|---|---|---|---|---|---|"]
    for r in report["rows"]:
        ps = ", ".join(f"{k} {_millions(v)}" for k, v in r["params"].items() if k != "total") or "n/a"
        fl = ", ".join(f"{k} {_giga(v)}" for k, v in r["flops"].items() if k != "total") or "n/a"
        st = ", ".join(f"{k} {v:.1f}" for k, v in (r.get("stage_ms") or {}).items()) or "n/a"
        inp = "x".join(map(str, r.get("input_size") or [])) or "n/a"
        lines.append(f"| {row_label(r)} | {r['preset']} | {inp} | {ps} | {fl} | {st} |")
    if any(r.get("protocol") == "own" for r in report["rows"]):
        lines += ["", "*(own)*: the baseline with its release's own settings for the benchmark (its resize, "
                      "windows and class prompts), not RADSeg's preset; its ratio is still to RADSeg's row."]
    if report.get("random_weights"):
        lines += ["", "**Random weights**: the full-size replicas time, count and compute like the real models; "
                      "their masks mean nothing (RADSeg+ regions are driven by the peaked workload)."]
    return "\n".join(lines) + "\n"
