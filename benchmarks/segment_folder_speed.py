#!/usr/bin/env python
"""Folder mode against one `radseg segment` process per image, in the same run (docs/BENCHMARKS.md).

Writes N synthetic images, then times (wall clock, one subprocess each, alternating so that a
change of machine load hits both) a) N calls `radseg segment IMAGE --labels ...` and b) one
call `radseg segment FOLDER --labels ...`, with the same model and settings (default: the
tiny-random stand-in, the library's default scale and windows, CPU). Checks that both give
the same label maps, and prints the per-image times, their ratio and the machine.

    python benchmarks/segment_folder_speed.py                  # 8 images of 240 x 320, 1 repeat
    python benchmarks/segment_folder_speed.py --images 16 --repeats 2 --json out.json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
LABELS = "sky, grass, road, building"


def segment(args, cwd, extra):
    cmd = [sys.executable, "-m", "radseg.cli", "segment", *map(str, args), "--labels", LABELS, *extra]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=env)
    dt = time.perf_counter() - t0
    if res.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{res.stderr[-2000:]}")
    return dt


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=8, help="number of images (default 8)")
    p.add_argument("--size", type=int, nargs=2, default=(240, 320), metavar=("H", "W"), help="image size")
    p.add_argument("--repeats", type=int, default=1, help="timed rounds of both modes (default 1)")
    p.add_argument("--model_version", default="tiny-random", help="model (default tiny-random)")
    p.add_argument("--device", default="cpu", help="device (default cpu)")
    p.add_argument("--num-workers", type=int, default=1, help="folder mode's loader workers (default 1)")
    p.add_argument("--json", default=None, help="also write the numbers here")
    args = p.parse_args(argv)
    extra = ["--model_version", args.model_version, "--device", args.device]
    with tempfile.TemporaryDirectory(prefix="radseg-folder-bench-") as tmp:
        tmp = Path(tmp)
        folder = tmp / "images"
        folder.mkdir()
        rng = np.random.default_rng(0)
        for i in range(args.images):
            Image.fromarray(rng.integers(0, 256, (*args.size, 3), dtype=np.uint8)).save(folder / f"img_{i:03d}.png")
        load_before = os.getloadavg()
        per_image, folder_mode = [], []
        for r in range(args.repeats):
            out = tmp / f"single_{r}"
            out.mkdir()
            per_image.append(sum(segment([img, "--out", out / img.stem], tmp, extra)
                                 for img in sorted(folder.iterdir())))
            folder_mode.append(segment([folder, "--out", tmp / f"folder_{r}", "--num-workers", str(args.num_workers),
                                        "--force"], tmp, extra))
        load_after = os.getloadavg()
        same = all(np.array_equal(np.array(Image.open(tmp / "single_0" / f"{img.stem}_labels.png")),
                                  np.array(Image.open(tmp / "folder_0" / f"{img.stem}_labels.png")))
                   for img in sorted(folder.iterdir()))
    n = args.images
    a, b = min(per_image) / n, min(folder_mode) / n
    result = {"images": n, "size": list(args.size), "model_version": args.model_version, "device": args.device,
              "repeats": args.repeats, "per_image_process_s_per_image": round(a, 3),
              "folder_mode_s_per_image": round(b, 3), "ratio": round(a / b, 2), "labels_identical": same,
              "machine": f"{platform.machine()} {platform.processor() or ''} {os.cpu_count()} cores".strip(),
              "python": platform.python_version(), "load_avg_before_after": [load_before[0], load_after[0]]}
    print(f"{n} images {args.size[1]} x {args.size[0]}, {args.model_version} on {args.device}, "
          f"{os.cpu_count()} cores (load {load_before[0]:.1f} -> {load_after[0]:.1f})")
    print(f"one process per image: {a:.2f} s/image; folder mode: {b:.2f} s/image; ratio {a / b:.1f}x; "
          f"labels identical: {same}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
