"""docs/ holds copies of the specification in ../shared/docs/: they must stay identical.

The specification folder sits beside the checkout in the developers' and CI's layout; a user's
clone has no such folder, and there is nothing to compare then.
"""
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DOCS = REPO.parent / "shared" / "docs"


def _spec_files():
    if not SHARED_DOCS.is_dir():
        return []
    return sorted(str(p.relative_to(SHARED_DOCS)) for p in SHARED_DOCS.rglob("*.md"))  # baselines/ too


@pytest.mark.skipif(not SHARED_DOCS.is_dir(), reason="no ../shared/docs beside this checkout (a user's clone)")
@pytest.mark.parametrize("name", _spec_files() or ["-"])
def test_docs_copy_matches_the_specification(name):
    copy = REPO / "docs" / name
    assert copy.is_file(), f"docs/{name} is missing: copy ../shared/docs/{name} into docs/"
    assert copy.read_bytes() == (SHARED_DOCS / name).read_bytes(), (
        f"docs/{name} differs from ../shared/docs/{name}: copy the specification again")
