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

Data-dependent branches: RADSeg+ runs the ``peaked`` workload (:mod:`radseg.bench.workload`), and so
does Trident (its first ``present`` queries peaked on its own features, so its SAM refinement
prompts regions); both rows count SAM's regions per image. Another method may drive its own with
``predictor.use_bench_workload(imgs, workload, present) -> int``.
"""
from __future__ import annotations

import contextlib
import os
import platform
import statistics
from typing import Dict, List, Optional, Tuple

import torch

from .method_build import RANDOM_NOTE, build_method, drive_workload, is_random, model_names
from .plan import BENCH_PRESETS, RADSEG_PLUS, BenchPlan, method_label, row_label

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


def stage_host(pred):
    """The object whose ``timer`` attribute the method's stages report to: RADSeg's encoder, a
    baseline predictor itself (``NaclipPredictor.timer``, ``TridentPredictor.timer``), else None."""
    enc = getattr(pred, "encoder", None)
    if enc is not None and hasattr(enc, "timer"):
        return enc
    return pred if hasattr(pred, "timer") else None


def count_flops(pred, call) -> Dict[str, int]:
    """FLOPs of one ``call()``: ``total`` and per stage (the method's stage-timer hook) or per model."""
    from torch.utils.flop_counter import FlopCounterMode
    host = stage_host(pred)
    parts: Dict[str, int] = {}
    with FlopCounterMode(display=False) as counter:
        if host is not None:
            stages = _FlopStages(counter)
            host.timer = stages
            try:
                call()
            finally:
                host.timer = None
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
class Timed:
    """One method's timed call: ``call()``, the stage-timer host (or None) and what was measured."""

    def __init__(self, call, host=None):
        self.call, self.host = call, host
        self.ms: List[float] = []
        self.laps: List[Dict[str, float]] = []


def _run(t: Timed, device: str, timed: bool, stages: bool) -> None:
    """One call of ``t``: its ms appended when ``timed``, its ms per stage (a lap) when ``stages`` and the
    method has a stage-timer host; the timer is detached afterwards whatever happens."""
    from .timing import StageTimer, timed_ms
    staged = stages and t.host is not None
    if staged:
        t.host.timer = StageTimer(device)
    try:
        if timed:
            t.ms.append(timed_ms(t.call, device)[1])
        else:
            t.call()
        if staged:
            t.laps.append(t.host.timer.lap())
    finally:
        if t.host is not None:
            t.host.timer = None


def time_calls(calls: Dict[str, Timed], device: str, repeats: int, warmup: int, log=None,
               order: str = "interleaved") -> None:
    """Fill each ``Timed.ms`` (and ``.laps``, ms per stage).

    ``order="interleaved"`` (default): the calls interleaved (a, b, c, a, b, c, ...) after ``warmup``
    untimed rounds, so every method sees the same machine load. ``"blocked"``: each method's warm-up
    and repeats back to back (a, a, a, b, b, b, ...), so no call follows another method's (on the CPU a
    call after a larger method's pays for the pages the allocator gave back; docs/BENCHMARKS.md).
    On the CPU the stage timer rides along in the timed calls (it only reads the clock); on CUDA it
    synchronises at every stage, so the stages come from ``min(repeats, 3)`` separate calls after the
    timed ones."""
    cuda = torch.device(device).type == "cuda"
    if order == "blocked":
        for k, t in calls.items():
            for _ in range(warmup):
                t.call()
            for _ in range(repeats):
                _run(t, device, timed=True, stages=not cuda)
            if log is not None:
                log(f"  {k}: " + ", ".join(f"{v:.0f}" for v in t.ms) + " ms")
    else:
        for _ in range(warmup):
            for t in calls.values():
                t.call()
        for i in range(repeats):
            for t in calls.values():
                _run(t, device, timed=True, stages=not cuda)
            if log is not None:
                log(f"  round {i + 1}/{repeats}: " + ", ".join(f"{k} {t.ms[-1]:.0f} ms" for k, t in calls.items()))
    if cuda:
        for _ in range(min(repeats, 3)):
            for t in calls.values():
                if t.host is not None:
                    _run(t, device, timed=False, stages=True)


def stage_medians(laps: List[Dict[str, float]]) -> Dict[str, float]:
    """Median ms per stage over the laps (a stage missing from a lap counts 0 there), in call order."""
    names: List[str] = []
    for lap in laps:
        names += [n for n in lap if n not in names]
    return {n: round(statistics.median([lap.get(n, 0.0) for lap in laps]), 3) for n in names}


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
def _row(method: str, preset: str, geo: Dict, k: int, protocol: str) -> Dict:
    bp = BENCH_PRESETS[preset]
    return {"method": method, "protocol": protocol, "preset": preset, "dataset": bp.dataset,
            "resolution": bp.resolution, "image_size": list(geo["image_size"]),
            "input_size": list(geo["input_size"]), "classes": k, "ms_median": None, "ms_iqr": None,
            "stage_ms": {}, "params": {}, "flops": {}, "peak_mem_mib": None, "limit_ms": None,
            "ratio_to_radseg": {"ms": None, "params": None}, "notes": []}


class _Built:
    """One method at one preset, built, with its image, its call and the row it fills; ``path``: the image
    as a file of the original size (Trident's SAM branch reads the original file, T1)."""

    def __init__(self, pred, settings, row: Dict, img: torch.Tensor, ori_shape, path: str):
        self.pred, self.settings, self.row, self.img = pred, settings, row, img
        self.call = lambda: pred.predict_normalized(img, ori_shape, image_path=path)


def method_entries(plan: BenchPlan, preset: str) -> List[Tuple[str, str]]:
    """``(method, protocol)`` pairs at ``preset``: RADSeg and RADSeg+ once (their preset is their own
    protocol), each baseline once per ``plan.protocols``; the ``own`` rows only at the first preset of
    each dataset in the plan (the release's settings do not depend on RADSeg's resolution)."""
    ds = BENCH_PRESETS[preset].dataset
    first = next(p for p in plan.presets if BENCH_PRESETS[p].dataset == ds) == preset
    out = []
    for m in plan.methods:
        if m in ("radseg", RADSEG_PLUS):
            out.append((m, "radseg"))
            continue
        out += [(m, pr) for pr in plan.protocols if pr == "radseg" or first]
    return out


def _build_all(plan: BenchPlan, preset: str, entries: List[Tuple[str, str]], log) -> List:
    """Each ``(method, protocol)`` built at ``preset`` (a row that could not be built measures nothing and
    says why)."""
    from ..dataset_registry import get_dataset
    from .measure import synthetic_images
    from .method_build import bench_image_file, method_geometry
    bp = BENCH_PRESETS[preset]
    k = get_dataset(bp.dataset).num_classes
    images: Dict[Tuple[int, int], torch.Tensor] = {}
    out = []
    for method, protocol in entries:
        row = _row(method, preset, plan.geometry(preset), k, protocol)
        try:
            pred, settings = build_method(plan, method, preset, k, protocol)
        except Exception as e:  # noqa: BLE001 - a method that cannot run here is a row saying so
            row["notes"].append(f"{NOTHING}: {str(e).splitlines()[0] if str(e) else type(e).__name__}")
            log(f"{preset} {row_label(row)}: {row['notes'][-1]}")
            out.append(row)
            continue
        geo = method_geometry(plan, preset, settings, protocol)
        row["input_size"] = list(geo["input_size"])
        size, ori = tuple(geo["input_size"]), tuple(geo["image_size"])
        if size not in images:  # one synthetic image per input size (the same for every method)
            images[size] = synthetic_images(1, size)[0].to(plan.device)
        img = images[size]
        path = bench_image_file(img, ori)
        row["peaked_classes"] = drive_workload(pred, method, [img], plan, bp.dataset, k, ori, path)
        if is_random(settings):
            row["notes"].append(RANDOM_NOTE)
        row["models"] = model_names(settings)
        out.append(_Built(pred, settings, row, img, ori, path))
    return out


def refining_sam(b) -> Optional[torch.nn.Module]:
    """The SAM whose prompted calls a method's region refinement makes: RADSeg+'s refiner, a baseline's
    ``sam`` when its settings refine with it (Trident's ``sam_refine``); else None."""
    if b.row["method"] == RADSEG_PLUS:
        return b.pred.encoder.sam_refiner.sam
    sam = getattr(b.pred, "sam", None)
    if getattr(b.settings, "sam_refine", False) and hasattr(sam, "prompt_encoder") and hasattr(sam, "mask_decoder"):
        return sam
    return None


def _extras(b: _Built, plan: BenchPlan) -> None:
    """RADSeg's backbone-only limit and, for a method that refines regions with SAM (RADSeg+, Trident),
    SAM's counted regions per image over one more call (none prompted: flagged)."""
    from .measure import _limit
    from .workload import NOT_MEASURING, SamCallCounter
    if b.row["method"] in ("radseg", RADSEG_PLUS):
        limit, _ = _limit(b.pred.encoder, [b.img], plan.device, plan.repeats, plan.warmup)
        b.row["limit_ms"] = limit["median"]
    sam = refining_sam(b)
    if sam is not None:
        counter = SamCallCounter(sam)
        try:
            b.call()
            b.row.update(counter.per_image(1))
        finally:
            counter.close()
        if not b.row["sam_regions_per_image"]:
            b.row["notes"].append(NOT_MEASURING)


def measure_preset(plan: BenchPlan, preset: str, log=print) -> List[Dict]:
    """Every method's row at ``preset``: params, FLOPs, interleaved latency (and per stage), limit,
    (CUDA) peak memory."""
    entries = method_entries(plan, preset)
    log(f"{preset}: building {', '.join(method_label(m, p) for m, p in entries)}")
    built = _build_all(plan, preset, entries, log)
    ok = [b for b in built if isinstance(b, _Built)]
    for b in ok:
        b.row["params"] = count_params(named_modules(b.pred))
        with torch.no_grad():
            b.row["flops"] = count_flops(b.pred, b.call)
        log(f"{preset} {row_label(b.row)}: params {b.row['params']['total'] / 1e6:.1f} M, "
            f"FLOPs {b.row['flops']['total'] / 1e9:.2f} G")
    timed = {row_label(b.row): Timed(b.call, stage_host(b.pred)) for b in ok}
    log(f"{preset}: timing {', '.join(timed)} {plan.order} ({plan.warmup} warm-up, {plan.repeats} timed)")
    time_calls(timed, plan.device, plan.repeats, plan.warmup, log=log, order=plan.order)
    for b in ok:
        t = timed[row_label(b.row)]
        b.row["ms_median"], b.row["ms_iqr"] = median_iqr(t.ms)
        b.row["stage_ms"] = stage_medians(t.laps)
        _extras(b, plan)
        if b.row["limit_ms"] is not None and b.row["ms_median"] < b.row["limit_ms"]:
            b.row["notes"].append(f"faster than its own backbone-only limit ({b.row['ms_median']:.1f} < "
                                  f"{b.row['limit_ms']:.1f} ms): noise or a cold call, not a result")
        if torch.device(plan.device).type == "cuda":
            b.row["peak_mem_mib"] = cuda_peak_mib(b.call)
        log(f"{preset} {row_label(b.row)}: median {b.row['ms_median']:.1f} ms/img (IQR {b.row['ms_iqr']:.1f})")
    rows = [b.row if isinstance(b, _Built) else b for b in built]
    del built, ok, timed  # free this preset's models before the next preset's
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
                log(f"peak memory: {row_label(r)} at {r['preset']} in a fresh process")
                got = peak_rss_mib(plan, r["method"], r["preset"], r.get("protocol", "radseg"))
                r["peak_mem_mib"] = got["peak_mib"]
                imports += [got["imports_mib"]] if got["imports_mib"] is not None else []
                if got["peak_mib"] is None:
                    r["notes"].append("peak memory: the fresh process failed")
    for r in rows:
        if r["ms_median"] is None and not any(n.startswith(NOTHING) for n in r["notes"]):
            r["notes"].append(NOTHING)
    ratios_to_radseg(rows)
    meta = {**run_meta(plan), "methods": list(plan.methods), "order": plan.order, "peak_memory": (
        "CUDA peak allocated over one call" if not cpu else
        "peak RSS of a fresh process per method (VmHWM, else ru_maxrss)" if plan.peak_memory else "not measured")}
    if imports:
        meta["baseline_rss_mib"] = min(imports)  # a fresh process's peak before it builds a model
    measured = [r for r in rows if r["ms_median"] is not None]
    return {"machine": machine_name(), "device": device_name(plan.device),
            "random_weights": bool(measured) and all(RANDOM_NOTE in r["notes"] for r in measured),
            "rows": rows, "meta": meta}
