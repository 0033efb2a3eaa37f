#!/usr/bin/env python
"""Evaluate RADSeg on one benchmark config. See README.md, "Evaluate".

    python eval.py --config configs_mmseg/mid_res/voc20.py --model_version c-radio_v3-b \
        --lang_model siglip2 --scra_scaling 10 --scga_scaling 10 --work-dir work_logs/
"""
import sys

from radseg.cli import run_eval_main

if __name__ == "__main__":
    sys.exit(run_eval_main(sys.argv[1:]))
