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
