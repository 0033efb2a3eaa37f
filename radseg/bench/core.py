"""The measurements of ``radseg bench`` (docs/BENCHMARKS.md explains every figure): plan -> measure -> compare.

:mod:`radseg.bench.plan` checks the options and lists the cases, :mod:`radseg.bench.measure`
builds each case's RADSeg from its :class:`~radseg.config.RADSegConfig` and times it,
:mod:`radseg.bench.compare` relates rows to each other; :func:`run_bench` chains them.
With ``methods`` (``--methods``), :mod:`radseg.bench.methods` measures every registered
method side by side instead (parameters, FLOPs, interleaved latency, peak memory).

For each case (preset x refinement x mode x batch size) on synthetic images of the
preset's real size:

* ``latency_ms`` median / p90 per batch and ``images_per_s`` (= batch / median), end to
  end through :meth:`RADSegEncoder.predict_batch` (``predict`` for batch 1), with no
  timer attached (only one synchronisation after each batch on CUDA);
* ``stages_ms``: median per stage with the stage timer attached (synchronised on CUDA);
* ``syncs_per_image``: device-host synchronisations counted with
  ``torch.cuda.set_sync_debug_mode("warn")`` (``None`` = n/a on the CPU);
* ``peak_gpu_mb``: ``torch.cuda.max_memory_allocated`` over the timed runs;
* ``backbone_limit_ms``: the same windows (and, with refinement, the 1024 px pass)
  through the bare backbone (SCRA included, same precision), nothing else;
  ``ratio_to_limit`` = median latency / median limit. The pipeline runs those windows and
  more, so a ratio below 1 cannot be right (noise, a cold first call): such a row has
  ``measurement_valid: false`` and an ``invalid_reason``, and the tables print it as invalid.
  Every mode's pipeline and limit are warmed up at least once before they are timed;
* RADSeg+ rows: ``sam_regions_per_image``, ``sam_classes_per_image`` (prompt-encoder
  calls) and ``sam_decoder_calls_per_image`` counted over the staged runs, under the
  ``workload`` (:mod:`radseg.bench.workload`: peaked prompts by default, so that regions
  form on random weights); a row that prompted no region gets ``note`` = "not measuring
  refinement";
* fast-mode rows: ``pixel_agreement`` and ``miou_vs_exact`` (mIoU of the fast labels
  taking the exact labels as ground truth, %) against the exact row of the same case,
  and ``speedup_vs_exact``.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence

from .compare import miou_between, ratio_validity  # noqa: F401  (re-exported: their old home)
from .measure import STAGES, _window_crops, device_name, run_case, run_meta, synthetic_images  # noqa: F401
from .plan import (  # noqa: F401  (re-exported: their old home)
    BENCH_PRESETS,
    DEFAULT_PRESETS,
    BenchPlan,
    BenchPreset,
    Case,
    check_device,
    plan_bench,
    resolve_presets,
)


def _log_line(row: Dict) -> str:
    ref = row["refine"]
    return (f"{row['preset']} refine={'on' if ref else 'off'} {row['mode']} batch={row['batch']}: "
            f"{row['images_per_s']:.2f} img/s, median {row['latency_ms']['median']:.1f} ms, "
            f"backbone limit {row['backbone_limit_ms']['median']:.1f} ms, ratio {row['ratio_to_limit']:.2f}"
            + ("" if row["measurement_valid"] else " INVALID (below 1: not a result)")
            + (f", SAM regions/img {row['sam_regions_per_image']:g}, decoder calls/img "
               f"{row['sam_decoder_calls_per_image']:g}" if ref else "")
            + (f" ({row['note']})" if "note" in row else ""))


class _CaseRunner:
    """Runs the plan's cases on one loaded bundle, keeping what later rows compare with."""

    def __init__(self, plan: BenchPlan, bundle, sam, log):
        self.plan, self.bundle, self.sam, self.log = plan, bundle, sam, log
        self.exact: Dict[tuple, Dict] = {}
        self.inputs: Dict[tuple, Dict] = {}  # (preset, batch) -> images, geometry, the case's prompts

    def _inputs(self, case: Case) -> Dict:
        key = (case.preset, case.batch)
        if key not in self.inputs:
            geo = self.plan.geometry(case.preset)
            imgs = [x.to(self.plan.device) for x in synthetic_images(case.batch, geo["input_size"])]
            self.inputs[key] = {"imgs": imgs, "prompts": None, "peaked": 0, **geo}
        return self.inputs[key]

    def _prompts(self, enc, inp: Dict, dataset: str, num_classes: int) -> None:
        """The case's class prompts, made once (by its first encoder) for every mode and refinement row."""
        from .workload import present_classes, use_workload
        if inp["prompts"] is None:
            n = present_classes(dataset, num_classes)
            inp["peaked"] = use_workload(enc, inp["imgs"], self.plan.workload, n)
            inp["prompts"] = enc.text_embeddings()
        enc.set_text_embeddings(inp["prompts"])

    def run(self, case: Case) -> List[Dict]:
        from ..dataset_registry import get_dataset
        from .measure import build_case
        from .workload import NOT_MEASURING, SamCallCounter
        bp = BENCH_PRESETS[case.preset]
        facts = get_dataset(bp.dataset)
        inp = self._inputs(case)
        pred = build_case(self.plan, self.bundle, self.sam, case.preset, case.refine, case.mode, facts.num_classes)
        enc = pred.encoder
        self._prompts(enc, inp, bp.dataset, facts.num_classes)
        counter = SamCallCounter(self.sam) if case.refine else None
        try:
            fig = run_case(enc, inp["imgs"], inp["image_size"], self.plan.device, self.plan.repeats,
                           self.plan.warmup, counter)
        finally:
            if counter is not None:
                counter.close()
        outs = fig.pop("_results")
        pre = facts.preset(bp.resolution)
        row = {"preset": case.preset, "dataset": bp.dataset, "resolution": bp.resolution,
               "image_size": list(inp["image_size"]), "input_size": list(inp["input_size"]),
               "scale": list(inp["scale"]), "crop": pre.slide_crop, "stride": pre.slide_stride,
               "classes": facts.num_classes, "refine": case.refine, "mode": case.mode, "batch": case.batch,
               "workload": self.plan.workload, "peaked_classes": inp["peaked"], **fig}
        if case.refine and not fig["sam_regions_per_image"]:
            row["note"] = NOT_MEASURING
        self._compare(case, row, enc, inp, outs)
        rows = [row]
        self.log(_log_line(row))
        if "onnxruntime" in self.plan.backends and case.mode == "exact":  # the same case through ONNX Runtime
            rows.append(self._onnx_row(enc, row, outs, inp))
        return rows

    def _compare(self, case: Case, row: Dict, enc, inp: Dict, outs: List) -> None:
        from .compare import batch_bit_identical, compare_to_exact
        key = (case.preset, case.refine, case.batch)
        if case.mode == "exact":
            self.exact[key] = {"labels": [o.labels for o in outs], "row": row}
            if case.batch > 1:  # per-image predict must give the same bits as the batched call
                row["batch_bit_identical"] = batch_bit_identical(enc, inp["imgs"], tuple(inp["image_size"]), outs)
        elif key in self.exact:
            ex = self.exact[key]
            row.update(compare_to_exact(row, outs, ex["row"], ex["labels"]))

    def _onnx_row(self, enc, row: Dict, outs: List, inp: Dict) -> Dict:
        from ..deploy.bench import onnxruntime_row
        row["backend"] = "torch"
        return onnxruntime_row(enc, row, outs, inp["imgs"], tuple(inp["image_size"]), self.plan.device,
                               self.plan.repeats, self.plan.warmup, sam_model=self.sam,
                               model_version=self.plan.model_version, sam_name=self.plan.sam, log=self.log,
                               measure=run_case, miou=miou_between)


def run_plan(plan: BenchPlan, log=print) -> Dict:
    """Measure every case of ``plan`` (or, with ``plan.methods``, every method) -> the JSON-ready report."""
    if plan.methods is not None:
        from .methods import run_methods
        return run_methods(plan, log=log)
    from .measure import load_models
    bundle, sam = load_models(plan)
    runner = _CaseRunner(plan, bundle, sam, log)
    results: List[Dict] = []
    for case in plan.cases():
        results += runner.run(case)
    return {"meta": run_meta(plan, bundle), "results": results}


def run_bench(presets: Sequence[str] = DEFAULT_PRESETS, model_version: str = "c-radio_v3-b-random",
              sam: str = "sam-vit-h-random", device: Optional[str] = None, refine: Sequence[bool] = (False, True),
              modes: Sequence[str] = ("exact", "fast"), batches: Sequence[int] = (1,), repeats: int = 10,
              warmup: int = 2, small: bool = False, max_windows_per_batch="auto", sam_iou_thresh: float = -1.0,
              workload: str = "peaked", log=print, backends: Sequence[str] = ("torch",),
              methods: Optional[Sequence[str]] = None, plugins: Sequence[str] = (),
              peak_memory: bool = True) -> Dict:
    """Run every case and return the report (``{"meta": ..., "results": [...]}``, JSON-ready).

    ``workload``: the class prompts (:mod:`radseg.bench.workload`): ``peaked`` (regions form on
    random weights; the same prompts for every mode and refinement of a case) or ``random``.
    ``backends``: with ``onnxruntime``, each exact torch row is followed by its ONNX Runtime row
    (:func:`radseg.deploy.bench.onnxruntime_row`; the torch row is always measured, as the reference).
    ``methods``: the method comparison (:mod:`radseg.bench.methods`) instead of the RADSeg cases.
    """
    plan = plan_bench(presets, model_version, sam, device, refine, modes, batches, repeats, warmup, small,
                      max_windows_per_batch, sam_iou_thresh, workload, backends, methods, plugins, peak_memory)
    return run_plan(plan, log=log)
