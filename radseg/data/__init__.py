"""Benchmark data: preparation from the official downloads and verification.

Only numpy, Pillow, pycocotools (and optionally cityscapesscripts): no mmseg,
mmengine or mmcv imports, so ``radseg data ...`` works without them.

    from radseg.data import verify_dataset, resolve_root
    rep = verify_dataset("context60", resolve_root("context60", "data"), quick=True)
    rep.raise_for_errors()
"""
from .benchmarks import (
                         ALT_ROOTS,
                         BENCHMARK_KEYS,
                         BENCHMARKS,
                         DEFAULT_DATA_DIR,
                         DEFAULT_ROOTS,
                         DataDir,
                         candidate_roots,
                         default_data_dir,
                         get_benchmark,
                         require_data_dir,
                         resolve_data_dir,
                         resolve_root,
)
from .prepare import PrepareResult, prepare_dataset
from .verify import VerifyReport, check_dataset, verify_dataset

__all__ = [
    "ALT_ROOTS", "BENCHMARK_KEYS", "BENCHMARKS", "DEFAULT_DATA_DIR", "DEFAULT_ROOTS",
    "DataDir", "candidate_roots", "default_data_dir", "get_benchmark", "require_data_dir",
    "resolve_data_dir", "resolve_root", "PrepareResult",
    "prepare_dataset", "VerifyReport", "check_dataset", "verify_dataset",
]
