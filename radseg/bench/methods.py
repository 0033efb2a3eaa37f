"""``radseg bench --methods radseg radseg+ naclip trident``: every registered method side by side.

For each preset of the plan, each method is looked up in :mod:`radseg.methods.registry` and
built with ``get_method(name).build(settings)`` (``radseg+`` = ``radseg`` with ``sam_refine``):
RADSeg's settings are the case's ``RADSegConfig.preset``; a baseline's are its
``radseg_protocol(dataset, resolution)`` with its full-size random replica
(``<model_version>-random``; ``tiny-random`` with ``--small``). Per method and preset:

* ``params``: ``total`` (each parameter counted once) and per model, from the predictor's
  ``modules_for_count()`` (``{name: nn.Module}``), else every ``nn.Module`` attribute;
* ``flops``: per image, ``torch.utils.flop_counter.FlopCounterMode`` over one call; ``total`` and
  per stage (RADSeg's encoder stages through its stage-timer hook) or per model (forward hooks);
* ``ms_median`` / ``ms_iqr``: ms per image, the methods interleaved call by call in one loop (the
  same machine load for all), after ``warmup`` untimed calls each;
* ``peak_mem_mib``: on CUDA the peak allocated memory over one call; on the CPU the peak resident
  memory of a fresh process per method (:mod:`radseg.bench.peak_rss`) that builds the method and
  runs it; ``meta.baseline_rss_mib`` is such a process's peak before it builds anything;
* ``ratio_to_radseg`` (``ms``, ``params``) against RADSeg's row of the same preset, ``limit_ms``
  (RADSeg: the backbone-only limit on the same windows, as the classic bench) and ``notes``:
  random weights, a method that measured nothing (and why), a speed faster than its own limit,
  a RADSeg+ row whose workload prompted no SAM region.

Data-dependent branches: RADSeg+ runs the ``peaked`` workload (:mod:`radseg.bench.workload`); a
method may drive its own with ``predictor.use_bench_workload(imgs, workload, present) -> int``.
"""
from __future__ import annotations

import contextlib
import os
import platform
import statistics
from typing import Dict, List, Tuple

import torch

from .method_build import RANDOM_NOTE, build_method, drive_workload, is_random, model_names
from .plan import BENCH_PRESETS, RADSEG_PLUS, BenchPlan

NOTHING = "measured nothing"


# ----------------------------------------------------------------------------- parameters and FLOPs
def named_modules(pred) -> Dict[str, torch.nn.Module]:
    """The predictor's models by name: ``modules_for_count()``, else its ``nn.Module`` attributes."""
    fn = getattr(pred, "modules_for_count", None)
    if callable(fn):
        return dict(fn())
    return {k: v for k, v in vars(pred).items() if isinstance(v, torch.nn.Module)}


def count_params(modules: Dict[str, torch.nn.Module]) -> Dict[str, int]:
    """``{"total": ..., <model>: ...}``: each model's parameters; the total counts a shared one once."""
    out: Dict[str, int] = {}
    seen = {}
    for name, m in modules.items():
        ps = list(m.parameters())
        out[name] = int(sum(p.numel() for p in ps))
        seen.update({id(p): p.numel() for p in ps})
    return {"total": int(sum(seen.values())), **out}


class _FlopStages:
    """Stands in for the encoder's stage timer: FLOPs per stage from the running counter."""

    def __init__(self, counter):
        self.counter, self.flops = counter, {}

    @contextlib.contextmanager
    def stage(self, name: str):
        before = self.counter.get_total_flops()
        try:
            yield
        finally:
            self.flops[name] = self.flops.get(name, 0) + self.counter.get_total_flops() - before


def _model_hooks(modules: Dict[str, torch.nn.Module], counter, flops: Dict[str, int]):
    start: Dict[str, List[int]] = {}

    def pre(name):
        return lambda m, a: start.setdefault(name, []).append(counter.get_total_flops())

    def post(name):
        def fn(m, a, out):
            flops[name] = flops.get(name, 0) + counter.get_total_flops() - start[name].pop()
        return fn
    handles = []
    for name, m in modules.items():
        handles += [m.register_forward_pre_hook(pre(name)), m.register_forward_hook(post(name))]
    return handles


def count_flops(pred, call) -> Dict[str, int]:
    """FLOPs of one ``call()``: ``total`` and per stage (a ``timer`` hook on ``pred.encoder``) or per model."""
    from torch.utils.flop_counter import FlopCounterMode
    enc = getattr(pred, "encoder", None)
    staged = enc is not None and hasattr(enc, "timer")
    parts: Dict[str, int] = {}
    with FlopCounterMode(display=False) as counter:
        if staged:
            stages = _FlopStages(counter)
            enc.timer = stages
            try:
                call()
            finally:
                enc.timer = None
            parts = stages.flops
        else:
            handles = _model_hooks(named_modules(pred), counter, parts)
            try:
                call()
            finally:
                for h in handles:
                    h.remove()
        total = counter.get_total_flops()
    return {"total": int(total), **{k: int(v) for k, v in parts.items()}}


# ----------------------------------------------------------------------------- timing
def interleaved_ms(calls: Dict[str, callable], device: str, repeats: int, warmup: int) -> Dict[str, List[float]]:
    """ms of each call, the calls interleaved (a, b, c, a, b, c, ...), after ``warmup`` untimed rounds."""
    from .timing import timed_ms
    for _ in range(warmup):
        for fn in calls.values():
            fn()
    out: Dict[str, List[float]] = {k: [] for k in calls}
    for _ in range(repeats):
        for k, fn in calls.items():
            out[k].append(timed_ms(fn, device)[1])
    return out


def median_iqr(values: List[float]) -> Tuple[float, float]:
    v = sorted(values)
    if len(v) < 2:
        return round(v[0], 3), 0.0
    q = statistics.quantiles(v, n=4, method="inclusive")
    return round(statistics.median(v), 3), round(q[2] - q[0], 3)


def cuda_peak_mib(call) -> float:
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    call()
    torch.cuda.synchronize()
    return round(torch.cuda.max_memory_allocated() / 2 ** 20, 1)


# ----------------------------------------------------------------------------- rows
def _row(method: str, preset: str, geo: Dict, k: int) -> Dict:
    bp = BENCH_PRESETS[preset]
    return {"method": method, "preset": preset, "dataset": bp.dataset, "resolution": bp.resolution,
            "image_size": list(geo["image_size"]), "input_size": list(geo["input_size"]), "classes": k,
            "ms_median": None, "ms_iqr": None, "params": {}, "flops": {}, "peak_mem_mib": None,
            "limit_ms": None, "ratio_to_radseg": {"ms": None, "params": None}, "notes": []}


class _Built:
    """One method at one preset, built, with its call and the row it fills."""

    def __init__(self, pred, settings, row: Dict, img: torch.Tensor, ori_shape):
        self.pred, self.settings, self.row = pred, settings, row
        from .method_build import bench_image_file
        path = bench_image_file(img, ori_shape)  # Trident's SAM branch reads the original file (T1)
        self.call = lambda: pred.predict_normalized(img, ori_shape, image_path=path)


def _build_all(plan: BenchPlan, preset: str, img: torch.Tensor, geo: Dict, log) -> List:
    """Each method built at ``preset`` (a row that could not be built measures nothing and says why)."""
    from ..dataset_registry import get_dataset
    bp = BENCH_PRESETS[preset]
    k = get_dataset(bp.dataset).num_classes
    out = []
    for method in plan.methods:
        row = _row(method, preset, geo, k)
        try:
            pred, settings = build_method(plan, method, preset, k)
        except Exception as e:  # noqa: BLE001 - a method that cannot run here is a row saying so
            row["notes"].append(f"{NOTHING}: {str(e).splitlines()[0] if str(e) else type(e).__name__}")
            log(f"{preset} {method}: {row['notes'][-1]}")
            out.append(row)
            continue
        row["peaked_classes"] = drive_workload(pred, method, [img], plan, bp.dataset, k)
        if is_random(settings):
            row["notes"].append(RANDOM_NOTE)
        row["models"] = model_names(settings)
        out.append(_Built(pred, settings, row, img, tuple(geo["image_size"])))
    return out


def _radseg_extras(b: _Built, plan: BenchPlan, img: torch.Tensor) -> None:
    """RADSeg's backbone-only limit and, for RADSeg+, SAM's counted regions per image."""
    from .measure import _limit
    from .workload import NOT_MEASURING, SamCallCounter
    limit, _ = _limit(b.pred.encoder, [img], plan.device, plan.repeats, plan.warmup)
    b.row["limit_ms"] = limit["median"]
    if b.row["method"] == RADSEG_PLUS:
        counter = SamCallCounter(b.pred.encoder.sam_refiner.sam)
        try:
            b.call()
            b.row.update(counter.per_image(1))
        finally:
            counter.close()
        if not b.row["sam_regions_per_image"]:
            b.row["notes"].append(NOT_MEASURING)


def measure_preset(plan: BenchPlan, preset: str, log=print) -> List[Dict]:
    """Every method's row at ``preset``: params, FLOPs, interleaved latency, limit, (CUDA) peak memory."""
    from .measure import synthetic_images
    geo = plan.geometry(preset)
    img = synthetic_images(1, geo["input_size"])[0].to(plan.device)
    built = _build_all(plan, preset, img, geo, log)
    ok = [b for b in built if isinstance(b, _Built)]
    for b in ok:
        b.row["params"] = count_params(named_modules(b.pred))
        with torch.no_grad():
            b.row["flops"] = count_flops(b.pred, b.call)
    times = interleaved_ms({b.row["method"]: b.call for b in ok}, plan.device, plan.repeats, plan.warmup)
    for b in ok:
        b.row["ms_median"], b.row["ms_iqr"] = median_iqr(times[b.row["method"]])
        if b.row["method"] in ("radseg", RADSEG_PLUS):
            _radseg_extras(b, plan, img)
        if b.row["limit_ms"] is not None and b.row["ms_median"] < b.row["limit_ms"]:
            b.row["notes"].append(f"faster than its own backbone-only limit ({b.row['ms_median']:.1f} < "
                                  f"{b.row['limit_ms']:.1f} ms): noise or a cold call, not a result")
        if torch.device(plan.device).type == "cuda":
            b.row["peak_mem_mib"] = cuda_peak_mib(b.call)
        log(f"{preset} {b.row['method']}: median {b.row['ms_median']:.1f} ms/img (IQR {b.row['ms_iqr']:.1f}), "
            f"params {b.row['params']['total'] / 1e6:.1f} M, FLOPs {b.row['flops']['total'] / 1e9:.2f} G")
    rows = [b.row if isinstance(b, _Built) else b for b in built]
    del built, ok  # free this preset's models before the next preset's
    return rows


# ----------------------------------------------------------------------------- the run
def machine_name() -> str:
    """The host, its CPU and the load when the run started (a shared machine says so)."""
    load = ", load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()) if hasattr(os, "getloadavg") else ""
    return f"{platform.node()} ({platform.platform()}, {os.cpu_count()} cores{load})"


def run_methods(plan: BenchPlan, log=print) -> Dict:
    """The method comparison report: ``machine``, ``device``, ``random_weights``, ``rows`` (and ``meta``)."""
    from .compare import ratios_to_radseg
    from .measure import device_name, run_meta
    from .peak_rss import peak_rss_mib
    rows: List[Dict] = []
    for preset in plan.presets:
        rows += measure_preset(plan, preset, log=log)
    cpu = torch.device(plan.device).type == "cpu"
    imports: List[float] = []
    if cpu and plan.peak_memory:
        for r in rows:
            if r["ms_median"] is not None:
                got = peak_rss_mib(plan, r["method"], r["preset"])
                r["peak_mem_mib"] = got["peak_mib"]
                imports += [got["imports_mib"]] if got["imports_mib"] is not None else []
                if got["peak_mib"] is None:
                    r["notes"].append("peak memory: the fresh process failed")
    for r in rows:
        if r["ms_median"] is None and not any(n.startswith(NOTHING) for n in r["notes"]):
            r["notes"].append(NOTHING)
    ratios_to_radseg(rows)
    meta = {**run_meta(plan), "methods": list(plan.methods), "peak_memory": (
        "CUDA peak allocated over one call" if not cpu else
        "peak RSS of a fresh process per method (VmHWM, else ru_maxrss)" if plan.peak_memory else "not measured")}
    if imports:
        meta["baseline_rss_mib"] = min(imports)  # a fresh process's peak before it builds a model
    measured = [r for r in rows if r["ms_median"] is not None]
    return {"machine": machine_name(), "device": device_name(plan.device),
            "random_weights": bool(measured) and all(RANDOM_NOTE in r["notes"] for r in measured),
            "rows": rows, "meta": meta}
