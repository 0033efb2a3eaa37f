#!/usr/bin/env python
"""Evaluate RADSeg over datasets x presets x SAM refinement x models. See docs/SWEEP.md.

    python eval_all_multi_res.py                       # the reference sweep (5 datasets x 3 presets x refine off/on)
    python eval_all_multi_res.py --datasets voc20 ade20k --resolutions low_res --sam-refine off
    python eval_all_multi_res.py --dry-run             # print the plan: run folders and eval commands
    radseg results work_logs/sweep                     # the paper-style table
"""
import sys

from radseg.sweep import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
