"""Where radseg keeps files between runs: text embeddings, SAM digests, checkpoints."""
from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """``$RADSEG_CACHE_DIR`` or ``~/.cache/radseg``."""
    root = os.environ.get("RADSEG_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "radseg")
    return Path(root)
