import os
import sys
from pathlib import Path

import pytest

if os.environ.get("PYTEST_XDIST_WORKER"):
    # One worker per core (pyproject addopts -n auto): each worker and every process it starts
    # (eval.py runs, sweeps, torchrun ranks) computes on one thread. Two workers of two threads
    # each on two cores spent most of their time waiting on each other (a refinement test:
    # 2.9 s alone, 13.6 s in the suite). The product's own thread defaults are unchanged.
    for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[_var] = "1"
    import torch

    torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))  # datagen, clean_room_reference


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Text-embedding cache in a temp folder; never the user's ~/.cache."""
    cache = tmp_path_factory.getbasetemp() / "radseg-cache"
    monkeypatch.setenv("RADSEG_CACHE_DIR", str(cache))
    yield


@pytest.fixture
def repo_root():
    return ROOT


#: The slowest files (measured in the suite on the 2-core CI machine, 2026-12-08), started first:
#: with ``--dist loadfile --no-loadscope-reorder`` xdist hands out files in collection order, so the
#: long ones run while the short ones fill the other worker (longest-processing-time-first), instead
#: of a long file starting last and running alone (xdist's default order: most tests first).
SLOWEST_FIRST = (  # seconds in the suite (2 workers, 2026-12-08): 79, 60, 46, 29, 18, 18, 17, 16, 14, 13
    "test_sweep.py", "test_slurm.py", "test_eval_e2e.py", "test_distributed.py", "test_bench.py",
    "test_deploy_runtime.py", "test_deploy_onnx.py", "test_prepare_then_eval.py", "test_bench_methods.py",
    "test_radio_v4.py",
)


def pytest_collection_modifyitems(session, config, items):
    """Stable sort: the files of :data:`SLOWEST_FIRST` first (in that order), the rest as collected."""
    rank = {name: i for i, name in enumerate(SLOWEST_FIRST)}
    items[:] = sorted(items, key=lambda it: rank.get(Path(str(it.fspath)).name, len(rank)))
