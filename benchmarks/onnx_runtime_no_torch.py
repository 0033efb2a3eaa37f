#!/usr/bin/env python
"""RADSeg from an export without PyTorch against the torch backend: parity and speed (docs/DEPLOY.md).

One export of the full-size replica (``c-radio_v3-b-random``: C-RADIOv3-B's architecture, random
weights; RADSeg, no SAM) embedding two classes, then the same image segmented into 20 *other*
classes by (1) PyTorch eager, (2) the ONNX Runtime backend behind ``RADSegPredictor`` (torch glue)
and (3) :class:`radseg.deploy.runtime.OnnxSegmenter` in a child process where ``import torch``
fails (numpy + ONNX Runtime only). Per backend: ``--repeats`` runs after one warm-up, medians,
the 1-minute load average around them; labels equal and max prob difference against torch.

    PYTHONPATH=. python benchmarks/onnx_runtime_no_torch.py --preset voc_mid --json out.json

Random weights: the figures are about speed and numerical parity, not segmentation quality.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

UNSEEN = ["sky", "building", "tree", "road", "grass", "water", "mountain", "car", "person", "wall", "floor",
          "ceiling", "window", "door", "table", "chair", "plant", "fence", "sidewalk", "sand"]

CHILD = """
import builtins, json, sys, time
_real = builtins.__import__
def _no_torch(name, *a, **k):
    if name == "torch" or name.startswith("torch."):
        raise ImportError("torch blocked")
    return _real(name, *a, **k)
builtins.__import__ = _no_torch
import numpy as np
from radseg.deploy.runtime import OnnxSegmenter
t0 = time.perf_counter()
seg = OnnxSegmenter(FOLDER, threads=THREADS, prompt_denoising_thresh=DENOISE)
start = time.perf_counter() - t0
img = np.load(IMAGE)
seg.predict(img, CLASSES)
ms = []
for _ in range(REPEATS):
    t0 = time.perf_counter(); r = seg.predict(img, CLASSES); ms.append(1e3 * (time.perf_counter() - t0))
np.save(OUT + "_labels.npy", r.labels); np.save(OUT + "_probs.npy", r.probs)
print(json.dumps({"ms": ms, "session_start_s": start, "torch_imported": "torch" in sys.modules}))
"""


def _load():
    return os.getloadavg()[0]


def main(argv=None) -> int:
    import numpy as np
    import torch

    from radseg import RADSegPredictor
    from radseg.deploy.export import export_onnx, preset_config
    from radseg.deploy.onnx_predictor import load_onnx_predictor
    p = argparse.ArgumentParser()
    p.add_argument("--preset", default="voc_mid")
    p.add_argument("--model_version", default="c-radio_v3-b-random")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--denoise", type=float, default=0.0,
                   help="prompt_denoising_thresh for all three (default 0: on random weights every class's "
                        "probability stays below the reference's 0.5, denoising zeroes them all and the labels "
                        "would be trivially equal)")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    work = Path(tempfile.mkdtemp(prefix="radseg-notorch-"))
    cfg = preset_config(args.preset, model_version=args.model_version, text_disk_cache=False)
    t0 = time.perf_counter()
    export_onnx(work / "export", cfg, preset=args.preset, classes="aeroplane, bicycle", log=lambda m: None)
    export_s = time.perf_counter() - t0
    folder = work / "export"
    sizes = {f.name: f.stat().st_size for f in folder.iterdir() if f.is_file()}
    rs = np.random.RandomState(0)
    import cv2
    img = cv2.resize((rs.rand(6, 8, 3) * 255).astype(np.uint8), (500, 375), interpolation=cv2.INTER_LINEAR)
    np.save(work / "image.npy", img)
    report = {"preset": args.preset, "prompt_denoising_thresh": args.denoise, "model_version": args.model_version,
              "threads": args.threads,
              "export_s": round(export_s, 1), "export_bytes": sizes, "image": [375, 500], "classes": len(UNSEEN),
              "cpu_count": os.cpu_count()}

    def timed(pred):
        pred.predict(img, UNSEEN)
        ms, loads = [], [_load()]
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            r = pred.predict(img, UNSEEN)
            ms.append(1e3 * (time.perf_counter() - t0))
            loads.append(_load())
        return r, ms, loads

    run_cfg = load_onnx_predictor(folder, "cpu").config.replace(text_disk_cache=False,
                                                              prompt_denoising_thresh=args.denoise)
    torch_pred = RADSegPredictor.from_config(run_cfg, device="cpu")
    rt, ms_t, load_t = timed(torch_pred)
    del torch_pred
    t0 = time.perf_counter()
    ort_pred = load_onnx_predictor(folder, "cpu", config=run_cfg, threads=args.threads)
    start_o = time.perf_counter() - t0
    ro, ms_o, load_o = timed(ort_pred)
    del ort_pred
    code = CHILD.replace("FOLDER", repr(str(folder))).replace("THREADS", str(args.threads)) \
        .replace("DENOISE", repr(args.denoise)) \
        .replace("IMAGE", repr(str(work / "image.npy"))).replace("CLASSES", repr(UNSEEN)) \
        .replace("REPEATS", str(args.repeats)).replace("OUT", repr(str(work / "nt")))
    load_n = [_load()]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RADSEG_CACHE_DIR": str(work / "cache")}
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env)
    load_n.append(_load())
    if done.returncode:
        print(done.stderr[-3000:], file=sys.stderr)
        return 1
    child = json.loads(done.stdout.strip().splitlines()[-1])
    ln, pn = np.load(work / "nt_labels.npy"), np.load(work / "nt_probs.npy")
    lt, pt = rt.labels.numpy(), rt.probs.numpy()
    report["rows"] = [
        {"backend": "PyTorch eager", "median_ms": round(statistics.median(ms_t), 1), "ms": [round(m) for m in ms_t],
         "load": [round(v, 1) for v in load_t]},
        {"backend": "ONNX Runtime backend (torch glue)", "median_ms": round(statistics.median(ms_o), 1),
         "ms": [round(m) for m in ms_o], "load": [round(v, 1) for v in load_o], "session_start_s": round(start_o, 1),
         "labels_equal": float((ro.labels.numpy() == lt).mean()),
         "probs_max_abs_diff": float(np.abs(ro.probs.numpy() - pt).max())},
        {"backend": "OnnxSegmenter (numpy + ONNX Runtime, torch blocked)", "median_ms":
            round(statistics.median(child["ms"]), 1), "ms": [round(m) for m in child["ms"]],
         "load": [round(v, 1) for v in load_n], "session_start_s": round(child["session_start_s"], 1),
         "torch_imported": child["torch_imported"], "labels_equal": float((ln == lt).mean()),
         "probs_max_abs_diff": float(np.abs(pn - pt).max())}]
    report["classes_present_torch"] = int(len(np.unique(lt)))
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
