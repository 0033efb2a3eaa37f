"""Peak resident memory of one method in a fresh process (``radseg bench --methods`` on the CPU).

:func:`peak_rss_mib` starts ``python -m radseg.bench.peak_rss PLAN_JSON METHOD PRESET [PROTOCOL]``: the child
loads the plan's plugins, builds the method exactly as the bench does
(:func:`radseg.bench.method_build.build_method`), runs its warm-up and one more call, and prints its
peak resident set in MiB: ``VmHWM`` of ``/proc/self/status`` on Linux, else ``ru_maxrss``.
(``ru_maxrss`` is preserved across ``execve``, so a child forked from a large bench process would
report the parent's size: the address space's own high-water mark is the child's.) Measured, not
estimated; it includes the interpreter and torch, whose share the same child reads before it
builds anything (``imports_mib``: the report's ``baseline_rss_mib`` is the smallest of those).
"""
from __future__ import annotations

import dataclasses
import json
import os
import resource
import subprocess
import sys
from typing import Dict, Optional

_MARK = "RADSEG_PEAK_RSS="


def _child_env() -> dict:
    env = dict(os.environ)
    # the parent's import path (a plugin module found there is found in the child too)
    env["PYTHONPATH"] = os.pathsep.join([p for p in sys.path if p] + [env.get("PYTHONPATH", "")]).strip(os.pathsep)
    return env


def peak_rss_mib(plan, method: str, preset: str, protocol: str = "radseg") -> Dict[str, Optional[float]]:
    """``{"peak_mib", "imports_mib"}`` of a fresh process that builds ``method`` at ``preset`` and runs it
    (``imports_mib``: its peak before building anything); ``None`` values if it failed."""
    proc = subprocess.run([sys.executable, "-m", "radseg.bench.peak_rss", json.dumps(dataclasses.asdict(plan)),
                           method, preset, protocol], capture_output=True, text=True, env=_child_env())
    for line in proc.stdout.splitlines():
        if line.startswith(_MARK):
            return json.loads(line[len(_MARK):])
    return {"peak_mib": None, "imports_mib": None}


def _own_peak_mib() -> float:
    """This process's peak RSS in MiB (``VmHWM``, kB; else ``ru_maxrss``, KiB on Linux)."""
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024.0, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)


def main(argv) -> int:
    import torch

    from ..models.registry import load_plugins
    from .method_build import build_method, drive_workload
    from .plan import BENCH_PRESETS, BenchPlan
    imports = _own_peak_mib()
    plan = BenchPlan(**json.loads(argv[0]))
    load_plugins(plan.plugins)
    method, preset = argv[1], argv[2]
    protocol = argv[3] if len(argv) > 3 else "radseg"
    from ..dataset_registry import get_dataset
    from .measure import synthetic_images
    from .method_build import method_geometry
    dataset = BENCH_PRESETS[preset].dataset
    k = get_dataset(dataset).num_classes
    pred, settings = build_method(plan, method, preset, k, protocol)
    geo = method_geometry(plan, preset, settings, protocol)
    img = synthetic_images(1, geo["input_size"])[0].to(plan.device)
    from .method_build import bench_image_file
    path = bench_image_file(img, tuple(geo["image_size"]))
    # the same data-dependent branches as the timed run
    drive_workload(pred, method, [img], plan, dataset, k, tuple(geo["image_size"]), path)
    with torch.no_grad():
        for _ in range(plan.warmup + 1):
            pred.predict_normalized(img, tuple(geo["image_size"]), image_path=path)
    print(_MARK + json.dumps({"peak_mib": _own_peak_mib(), "imports_mib": imports}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
