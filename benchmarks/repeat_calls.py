#!/usr/bin/env python
"""Repeated ``RADSegPredictor.predict`` calls in one process: does a later call slow down?

    python benchmarks/repeat_calls.py --preset ade20k_high --sam --classes 20 --calls 8
    python benchmarks/repeat_calls.py --preset voc20_mid --sam --calls 8 --json out.json
    python benchmarks/repeat_calls.py --small --calls 3          # a harness check in seconds

One predictor (the full-size random replica ``c-radio_v3-b-random``, with ``--sam`` RADSeg+
on ``sam-vit-h-random``) segments ``--images`` synthetic images of the dataset's typical size,
round robin, ``--calls`` times, in exact mode. The first call is timed like the others (it
is the "cold" call of the issue). With ``--sam`` the class prompts are the bench's ``peaked``
workload (:mod:`radseg.bench.workload`), so SAM regions form on random weights, and the SAM
regions each call refined are counted. Per call it records the wall time, the process's
resident memory and thread count (``/proc/self/status``), torch's intra-op threads, whether the
outputs carry autograd state, the CPU time (and its kernel part, ``sys_ms``: page faults of fresh
allocations), the minor page faults and the number of live Python objects, and, at the end,
the ratio of each call to the first. The labels of every call of one image are compared with
that image's first call (``labels_identical``): repeated calls must give the same bits.
``docs/BENCHMARKS.md`` ("Repeated calls in one process") holds measured numbers.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import statistics
import sys
import time
from typing import Dict, List, Optional

#: bench-style preset names -> (radseg.presets dataset key, resolution, typical image size H0 x W0)
PRESETS = {"voc20_mid": ("voc20", "mid_res", (375, 500)), "voc20_low": ("voc20", "low_res", (375, 500)),
           "voc20_high": ("voc20", "high_res", (375, 500)), "ade20k_high": ("ade20k", "high_res", (512, 683)),
           "ade20k_mid": ("ade20k", "mid_res", (512, 683)), "context59_mid": ("context59", "mid_res", (375, 500))}


def _proc_status() -> Dict[str, float]:
    """Resident memory (MiB), its peak (MiB) and the thread count of this process (Linux; {} elsewhere)."""
    out: Dict[str, float] = {}
    try:
        with open("/proc/self/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    out["rss_mib" if key == "VmRSS" else "peak_rss_mib"] = round(int(value.split()[0]) / 1024, 1)
                elif key == "Threads":
                    out["threads"] = int(value)
    except OSError:
        pass
    return out


def synthetic_rgb(n: int, size, seed: int = 0) -> list:
    """``n`` smooth random ``H x W x 3`` uint8 images (large uniform-ish areas, like photos; the bench's recipe)."""
    import torch
    import torch.nn.functional as F
    out = []
    for i in range(n):
        g = torch.Generator().manual_seed(seed + i)
        low = torch.rand(1, 3, 5, 7, generator=g) * 255.0
        img = F.interpolate(low, size=tuple(size), mode="bilinear", align_corners=False)
        out.append(img[0].permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8).numpy())
    return out


def load_average() -> Optional[List[float]]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def run(preset: str, sam: bool, classes: int, calls: int, images: int, small: bool = False,
        threads: Optional[int] = None, stages: bool = True, log=print) -> Dict:
    """Time ``calls`` predict calls of one predictor; returns the JSON report (see the module doc)."""
    import torch

    from radseg import RADSegConfig, RADSegPredictor
    from radseg.bench.workload import SamCallCounter, present_classes, use_workload
    from radseg.class_names import load_class_names

    if threads:
        torch.set_num_threads(threads)
    dataset, resolution, size = PRESETS[preset]
    if small:
        size = (size[0] // 4, size[1] // 4)
    model = "c-radio_v3-b-random-small" if small else "c-radio_v3-b-random"
    overrides = {"model_version": model, "sam_refine": sam, "text_disk_cache": False}
    if sam:
        overrides["sam_ckpt"] = "sam-vit-h-random-small" if small else "sam-vit-h-random"
    config = RADSegConfig.preset(dataset, resolution, **overrides)
    if small:
        config = config.replace(scale=(512, config.scale[1] // 4))
    t0 = time.perf_counter()
    predictor = RADSegPredictor.from_config(config, device="cpu")
    load_s = time.perf_counter() - t0
    names = load_class_names(config.class_names)
    names = (names * (classes // max(len(names), 1) + 1))[:classes]
    predictor.set_classes(names)
    enc = predictor.encoder
    rgbs = synthetic_rgb(images, size)
    peaked = 0
    counter = None
    if sam:
        from radseg.preprocess import network_input
        peaked = use_workload(enc, [network_input(r, config.scale) for r in rgbs],
                              "peaked", present_classes(dataset, classes))
        counter = SamCallCounter(enc.sam_refiner.sam)
    log(f"{preset} {'RADSeg+' if sam else 'RADSeg'}, {classes} classes ({peaked} peaked), image {size[0]}x{size[1]}, "
        f"{calls} calls, torch threads {torch.get_num_threads()}, load {load_average()}")
    first_labels: Dict[int, torch.Tensor] = {}
    rows = []
    from radseg.bench.timing import StageTimer
    enc.timer = StageTimer("cpu") if stages else None
    for i in range(calls):
        if counter is not None:
            counter.reset()
        k = i % images
        ru0 = resource.getrusage(resource.RUSAGE_SELF)
        c0, t = time.process_time(), time.perf_counter()
        pred = predictor.predict(rgbs[k])
        ms = 1e3 * (time.perf_counter() - t)
        cpu_ms = 1e3 * (time.process_time() - c0)
        ru1 = resource.getrusage(resource.RUSAGE_SELF)
        same = None
        if k in first_labels:
            same = bool(torch.equal(first_labels[k], pred.labels))
        else:
            first_labels[k] = pred.labels.clone()
        row = {"call": i + 1, "image": k, "ms": round(ms, 1), "cpu_ms": round(cpu_ms, 1),
               "sys_ms": round(1e3 * (ru1.ru_stime - ru0.ru_stime), 1),
               "minor_faults": ru1.ru_minflt - ru0.ru_minflt, "major_faults": ru1.ru_majflt - ru0.ru_majflt,
               "involuntary_switches": ru1.ru_nivcsw - ru0.ru_nivcsw, "labels_identical": same,
               "torch_threads": torch.get_num_threads(),
               "output_requires_grad": bool(pred.probs.requires_grad),
               "python_objects": len(gc.get_objects()),  # a cache or list that grows shows here
               **_proc_status()}
        if counter is not None:
            row["sam_regions"] = counter.regions
        if enc.timer is not None:
            row["stages_ms"] = {n: round(v, 1) for n, v in enc.timer.lap().items()}
        rows.append(row)
        log(f"  call {i + 1}: {ms:8.1f} ms  cpu {cpu_ms:8.1f} ms  faults {row['minor_faults']}  "
            f"rss {row.get('rss_mib', 'n/a')} MiB  threads {row.get('threads')}"
            + (f"  regions {row['sam_regions']}" if counter is not None else "")
            + ("" if same is None else f"  identical {same}")
            + (f"\n    stages {row['stages_ms']}" if "stages_ms" in row else ""))
    first = rows[0]["ms"]
    later = [r["ms"] for r in rows[1:]]
    later_cpu = [r["cpu_ms"] for r in rows[1:]]
    return {
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip() + f", {os.cpu_count()} cores",
        "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
        "load_average_before": None, "load_average_after": load_average(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "preset": preset, "dataset": dataset,
        "resolution": resolution, "image_size": list(size), "model_version": model, "sam_refine": sam,
        "classes": classes, "peaked_classes": peaked, "images": images, "load_s": round(load_s, 1),
        "calls": rows, "first_ms": first,
        "later_median_ms": round(statistics.median(later), 1) if later else None,
        "later_max_ms": max(later) if later else None,
        "later_over_first_max": round(max(later) / first, 3) if later else None,
        "first_cpu_ms": rows[0]["cpu_ms"],
        "later_cpu_median_ms": round(statistics.median(later_cpu), 1) if later_cpu else None,
        "all_labels_identical": all(r["labels_identical"] is not False for r in rows),
    }


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", choices=sorted(PRESETS), default="voc20_mid")
    p.add_argument("--sam", action="store_true", help="RADSeg+ (sam-vit-h-random, peaked workload)")
    p.add_argument("--classes", type=int, default=20, help="class prompts (default 20)")
    p.add_argument("--calls", type=int, default=8, help="predict calls, the first included (default 8)")
    p.add_argument("--images", type=int, default=2, help="distinct synthetic images, round robin (default 2)")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads first (default: torch's)")
    p.add_argument("--no-stages", dest="stages", action="store_false",
                   help="no per-stage timer (the stages add one perf_counter pair each)")
    p.add_argument("--small", action="store_true", help="stand-in sizes, quarter images: a harness check")
    p.add_argument("--json", default=None, help="write the report here")
    args = p.parse_args(argv)
    if args.calls < 1 or args.images < 1 or args.classes < 1:
        p.error("--calls, --images and --classes must be at least 1")
    before = load_average()
    report = run(args.preset, args.sam, args.classes, args.calls, args.images, args.small, args.threads,
                 args.stages, log=lambda *a: print(*a, file=sys.stderr))
    report["load_average_before"] = before
    text = json.dumps(report, indent=2)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
