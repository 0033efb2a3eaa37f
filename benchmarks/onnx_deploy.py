#!/usr/bin/env python
"""ONNX Runtime against PyTorch eager (exact mode) on the full-size replica: parity and speed (docs/DEPLOY.md).

Per preset: export (timed; size on disk), ONNX Runtime sessions at each graph optimisation level
(start-up timed), then an interleaved loop (torch, ORT level 1, ORT level 2, ..., repeated) on the
same synthetic image, medians reported with the 1-minute load average around each repetition.
Parity: per-window backbone features (max relative error), label maps (equal pixels, mIoU taking
torch as the ground truth), for RADSeg and (``--refine``) RADSeg+.

    PYTHONPATH=. python benchmarks/onnx_deploy.py --preset voc_mid --repeats 5 --json out.json

Random replica weights: the figures are about speed and numerical parity, not segmentation quality.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None) -> int:
    from radseg.bench.core import BENCH_PRESETS, _window_crops, miou_between, synthetic_images
    from radseg.class_names import load_class_names
    from radseg.config import RADSegConfig
    from radseg.core.encoder import RADSegEncoder
    from radseg.core.sam_refine import SAMRefiner
    from radseg.deploy.export import write_export
    from radseg.deploy.ort_backend import OnnxExport, OrtEncoder
    from radseg.models import build_radio
    from radseg.models.sam import load_sam
    from radseg.preprocess import rescale_size
    from radseg.presets import get_dataset

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model_version", default="c-radio_v3-b-random")
    ap.add_argument("--sam", default="sam-vit-h-random")
    ap.add_argument("--preset", nargs="+", default=["voc_mid"])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--opt", nargs="+", default=["all", "basic"], help="ORT graph optimisation levels")
    ap.add_argument("--refine", action="store_true", help="also RADSeg+ parity (one run each)")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    bundle = build_radio(args.model_version, None, need_sam=args.refine, device="cpu")
    sam = load_sam(args.sam, device="cpu") if args.refine else None
    report = {"meta": {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores visible, "
                                  f"shared with other jobs", "torch": torch.__version__,
                       "threads": args.threads, "model_version": args.model_version,
                       "random_weights": True, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())},
              "results": []}
    import onnxruntime
    report["meta"]["onnxruntime"] = onnxruntime.__version__
    for name in args.preset:
        bp = BENCH_PRESETS[name]
        facts = get_dataset(bp.dataset)
        pre = facts.preset(bp.resolution)
        h0, w0 = bp.image_size
        img = synthetic_images(1, rescale_size(h0, w0, tuple(pre.scale)))[0]
        classes = load_class_names(facts.class_names)
        enc = RADSegEncoder(bundle, slide_crop=pre.slide_crop, slide_stride=pre.slide_stride, text_disk_cache=False)
        enc.set_classes(classes)
        enc.text_embeddings()
        config = RADSegConfig(model_version=args.model_version, slide_crop=pre.slide_crop,
                              slide_stride=pre.slide_stride, sam_refine=args.refine,
                              sam_ckpt=args.sam if args.refine else None, coarse_thresh=facts.coarse_thresh,
                              text_disk_cache=False)
        row = {"preset": name, "image_size": [h0, w0], "input_size": list(img.shape[-2:]),
               "crop": pre.slide_crop, "stride": pre.slide_stride, "classes": len(classes)}
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            m = write_export(Path(tmp) / "e", enc, config, classes, sam=sam, log=lambda s: print(s, flush=True))
            row["export_s"] = round(time.perf_counter() - t0, 1)
            row["export_mb"] = {k: round(p["bytes"] / 2 ** 20, 1) for k, p in m["parts"].items()}
            row["exporters"] = {k: p["exporter"] for k, p in m["parts"].items()}
            export = OnnxExport.open(Path(tmp) / "e")
            ort = {}
            row["session_start_s"] = {}
            for level in args.opt:
                t0 = time.perf_counter()
                ort[level] = OrtEncoder(export, config.replace(sam_refine=False), threads=args.threads,
                                        optimization=level)
                row["session_start_s"][level] = round(time.perf_counter() - t0, 2)
                ort[level].set_classes(classes)
            crops = _window_crops(enc, img)
            with torch.no_grad():
                a = enc.backbone_features(crops)
                ref = enc.predict(img, (h0, w0))
            row["windows"] = int(crops.shape[0])
            row["parity"] = {}
            for level, o in ort.items():
                with torch.no_grad():
                    b = o.backbone_features(crops)
                    got = o.predict(img, (h0, w0))
                row["parity"][level] = {
                    "feature_max_rel_err": float(format(max(float((b[i] - a[i]).abs().max() / a[i].abs().max())
                                                            for i in range(a.shape[0])), ".3g")),
                    "labels_equal": round(float((got.labels == ref.labels).float().mean()), 6),
                    "miou_vs_torch": round(miou_between(got.labels, ref.labels), 3),
                    "probs_max_abs_diff": float(f"{float((got.probs - ref.probs).abs().max()):.3g}")}
            times = {"torch": [], **{f"ort_{k}": [] for k in ort}}
            loads = []
            for r in range(args.repeats):
                loads.append(os.getloadavg()[0])
                for key, e in [("torch", enc)] + [(f"ort_{k}", v) for k, v in ort.items()]:
                    t0 = time.perf_counter()
                    with torch.no_grad():
                        e.predict(img, (h0, w0))
                    times[key].append(1e3 * (time.perf_counter() - t0))
                print(name, r, {k: round(v[-1]) for k, v in times.items()}, "load", loads[-1], flush=True)
            loads.append(os.getloadavg()[0])
            med = {k: round(statistics.median(v), 1) for k, v in times.items()}
            row["median_ms"] = med
            row["all_ms"] = {k: [round(x) for x in v] for k, v in times.items()}
            row["speedup_vs_torch"] = {k: round(med["torch"] / v, 3) for k, v in med.items() if k != "torch"}
            row["load_1min"] = {"min": min(loads), "max": max(loads), "median": statistics.median(loads)}
            if args.refine:
                tref = SAMRefiner.from_config(sam, config.replace(sam_iou_thresh=-1.0))
                o = OrtEncoder(export, config, threads=args.threads)
                o.sam_refiner = SAMRefiner.from_config(o.sam, config.replace(sam_iou_thresh=-1.0))
                o.set_classes(classes)
                enc.sam_refiner = tref
                calls = []
                dec = o.sam.mask_decoder
                run = dec.graph.forward
                dec.graph.forward = lambda *t, calls=calls, run=run: calls.append(int(t[1].shape[0])) or run(*t)
                with torch.no_grad():
                    t0 = time.perf_counter()
                    rt = enc.predict(img, (h0, w0))
                    t1 = time.perf_counter()
                    ro = o.predict(img, (h0, w0))
                    t2 = time.perf_counter()
                enc.sam_refiner = None
                row["radseg_plus"] = {"labels_equal": round(float((rt.labels == ro.labels).float().mean()), 6),
                                      "miou_vs_torch": round(miou_between(ro.labels, rt.labels), 3),
                                      "sam_decoder_calls": len(calls), "regions": sum(calls),
                                      "torch_ms": round(1e3 * (t1 - t0)), "ort_ms": round(1e3 * (t2 - t1)),
                                      "note": "one run each (not interleaved), sam_iou_thresh -1 (every mask kept)"}
        report["results"].append(row)
        print(json.dumps(row, indent=1), flush=True)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
