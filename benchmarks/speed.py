#!/usr/bin/env python
"""Time RADSeg's stages on one synthetic image: where does the time go?

    python benchmarks/speed.py --model_version c-radio_v3-b --size 448 672 --preset mid \
        --classes 171 --sam-refine --sam-ckpt sam_vit_h_4b8939.pth --device cuda

Prints one JSON object: the device, the settings and the median milliseconds
per stage over ``--repeats`` runs after ``--warmup`` runs (CUDA is
synchronised around each stage). With ``--model_version tiny-random`` it runs
anywhere (stand-in weights: the timings then only show the harness works).
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time

import torch

from radseg.dense_logits import cosine_probabilities, denoise_prompts, predict_labels, project_tokens, upsample
from radseg.encoder import RADSegEncoder
from radseg.scga import scga

PRESETS = {"low": (224, 112), "mid": (336, 224), "high": (336, 224)}


def _sync(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def timed(fn, device):
    _sync(device)
    t = time.perf_counter()
    out = fn()
    _sync(device)
    return out, (time.perf_counter() - t) * 1000.0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model_version", default="c-radio_v3-b")
    p.add_argument("--lang_model", default="siglip2")
    p.add_argument("--size", type=int, nargs=2, default=[448, 672], metavar=("H", "W"),
                   help="network input size (after the test pipeline's Resize)")
    p.add_argument("--preset", choices=sorted(PRESETS), default="mid", help="window crop/stride")
    p.add_argument("--classes", type=int, default=171)
    p.add_argument("--sam-refine", action="store_true")
    p.add_argument("--sam-ckpt", default=None)
    p.add_argument("--amp", action="store_true")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args(argv)

    crop, stride = PRESETS[args.preset]
    enc = RADSegEncoder.from_pretrained(args.model_version, args.lang_model, device=args.device,
                                        need_sam=args.sam_refine, slide_crop=crop, slide_stride=stride,
                                        amp=args.amp)
    if args.sam_refine:
        from radseg.models.sam import load_sam
        from radseg.sam_refine import SAMRefiner
        # keep every SAM mask (IoU gate off) so the whole merge path is timed
        enc.sam_refiner = SAMRefiner(load_sam(args.sam_ckpt, device=args.device), sam_iou_thresh=-1.0)
    enc.set_classes([f"class {i}" for i in range(args.classes)])
    g = torch.Generator().manual_seed(0)
    # a smooth synthetic image (large uniform-ish areas, like a photo) rather than pixel noise
    low = torch.randn(1, 3, 6, 9, generator=g)
    img = torch.nn.functional.interpolate(low, size=tuple(args.size), mode="bilinear").to(args.device)
    ori = tuple(args.size)
    _, t_text = timed(enc.text_embeddings, args.device)

    stages = {k: [] for k in ("windows_backbone", "scga", "project_cosine", "upsample_denoise",
                              "sam_refine", "total")}
    with torch.no_grad():
        for i in range(args.warmup + args.repeats):
            t0 = time.perf_counter()
            feats, a = timed(lambda: enc.feature_map(img), args.device)
            g_, b = timed(lambda: scga(feats, enc.scga_scaling), args.device)
            prob, c = timed(lambda: cosine_probabilities(project_tokens(g_, enc.lang_adaptor.head_mlp),
                                                         enc.text_embeddings()), args.device)
            probs, d = timed(lambda: denoise_prompts(upsample(prob, ori), enc.prompt_denoising_thresh)[0],
                             args.device)
            e = 0.0
            if enc.sam_refiner is not None:
                labels = predict_labels(probs[None])[0]
                _, e = timed(lambda: enc.sam_refiner(enc, img, labels, probs), args.device)
            _sync(args.device)
            total = (time.perf_counter() - t0) * 1000.0
            if i >= args.warmup:
                for k, v in zip(stages, (a, b, c, d, e, total)):
                    stages[k].append(v)
    device = torch.cuda.get_device_name() if torch.device(args.device).type == "cuda" else \
        (platform.processor() or platform.machine()) + f" ({torch.get_num_threads()} threads)"
    report = {"device": device, "torch": torch.__version__, "model_version": args.model_version,
              "input_size": list(args.size), "crop_stride": [crop, stride], "classes": args.classes,
              "sam_refine": args.sam_refine, "amp": args.amp, "text_embeddings_ms_once": round(t_text, 2),
              "median_ms": {k: round(statistics.median(v), 2) for k, v in stages.items()},
              "repeats": args.repeats}
    if torch.device(args.device).type == "cuda":
        report["peak_mem_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
