#!/usr/bin/env python
"""Kept for old command lines: ``benchmarks/speed.py ARGS`` is ``radseg bench ARGS``.

    python benchmarks/speed.py --preset voc_mid --device cuda        # see docs/BENCHMARKS.md
"""
import sys

from radseg.bench.cli import main

if __name__ == "__main__":
    sys.exit(main())
