"""``radseg bench``: speed of RADSeg / RADSeg+ per preset, mode and batch size, next to the
backbone-only limit (docs/BENCHMARKS.md).

    from radseg.bench import run_bench
    report = run_bench(presets=["voc_mid"], model_version="c-radio_v3-b-random", device="cuda")
"""
from .core import BENCH_PRESETS, STAGES, run_bench  # noqa: F401
from .report import markdown_table  # noqa: F401
