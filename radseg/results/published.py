"""Each baseline's published numbers as a built-in reference for ``radseg results``.

A method's settings class may carry ``PUBLISHED = {dataset_key: mIoU}`` (its release's README
or paper, under its own protocol: see docs/BASELINES.md). They become reference cells
``(row label of the release's default settings, "own", dataset)``, so ``radseg results``
prints every baseline row at its own protocol as "this (this - published)" with no
``--reference`` file; a ``--reference`` file adds to them and wins where both give a cell.
"""
from __future__ import annotations

from typing import Dict, Tuple

from .collect import row_label

#: the column group of a baseline evaluated under its release's own settings (``--protocol own``)
OWN_PROTOCOL = "own"

Reference = Dict[Tuple[str, str, str], float]


def published_row_label(spec) -> str:
    """The table's row label for ``spec``'s release defaults (what a default own-protocol record shows)."""
    s = spec.settings_cls()
    return row_label({"method": spec.name, "model_version": getattr(s, "model_version", "?"),
                      "sam_refine": bool(getattr(s, "sam_refine", False)), "protocol": OWN_PROTOCOL})


def published_reference() -> Reference:
    """``{(row, "own", dataset): value}`` for every registered, available method with ``PUBLISHED``."""
    from ..methods import get_method, method_names
    ref: Reference = {}
    for name in method_names():
        spec = get_method(name, require_available=False)
        published = getattr(spec.settings_cls, "PUBLISHED", None) if spec.settings_cls else None
        if not spec.available or not published:
            continue
        row = published_row_label(spec)
        for ds, value in published.items():
            ref[(row, OWN_PROTOCOL, str(ds))] = float(value)
    return ref
