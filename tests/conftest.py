import sys
from pathlib import Path

import pytest

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
