"""radseg.results.records: what a complete record is, what is written where, and the summary text."""
from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from radseg.errors import RADSegError
from radseg.results.records import (
    RECORD_SCHEMA,
    _clean,
    atomic_write_text,
    format_summary,
    is_complete_record,
    load_record,
    nonfinite_metrics,
    write_run_record,
)

RECORD = {"benchmark": "voc20", "resolution": "mid_res", "config": "configs_mmseg/mid_res/voc20.py",
          "model_version": "tiny-random", "lang_model": "siglip2", "model_source": "stand-in",
          "model_revision": "seed0", "sam_refine": True, "num_images": 3, "test_time_s": 1.5,
          "images_per_s": 2.0, "device": "cpu",
          "metrics": {"aAcc": 80.5, "mIoU": 40.25, "mAcc": 50.0},
          "per_class": {"aeroplane": {"IoU": 12.345, "Acc": 50.0}, "bicycle": {"IoU": None, "Acc": None}}}

SUMMARY = """\
benchmark: voc20  resolution: mid_res  config: configs_mmseg/mid_res/voc20.py
model: tiny-random (siglip2, stand-in @ seed0)  SAM refinement: on
aAcc: 80.5  mIoU: 40.25  mAcc: 50.0  (%)
images: 3  test time: 1.5 s  images/s: 2.0  device: cpu

class                          IoU %   Acc %
aeroplane                      12.35   50.00
bicycle                          nan     nan
"""


def test_format_summary_text():
    assert format_summary(RECORD) == SUMMARY
    off = format_summary(dict(RECORD, sam_refine=False, per_class=None))
    assert "SAM refinement: off" in off and off.endswith("Acc %\n")
    assert format_summary({}).startswith("benchmark: None  resolution: None  config: None\n")


def test_clean_makes_json_safe_values():
    class Odd:
        def __str__(self):
            return "odd"
    got = _clean({1: (float("nan"), float("inf"), -math.inf, 2.5), "n": np.float32(0.5), "i": np.int64(3),
                  "b": True, "s": "x", "z": None, "o": Odd(), "l": [np.float64("nan")]})
    assert got == {"1": [None, None, None, 2.5], "n": 0.5, "i": 3.0, "b": True, "s": "x", "z": None, "o": "odd",
                   "l": [None]}
    assert type(got["b"]) is bool and type(_clean(7)) is int


NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize("metrics,bad", [
    ({"aAcc": 1, "mIoU": 2.0, "mAcc": 3.5}, {}),
    ({"aAcc": 1.0, "mIoU": NAN, "mAcc": 3.0}, {"mIoU": NAN}),
    ({"aAcc": INF, "mIoU": 1.0, "mAcc": -INF}, {"aAcc": INF, "mAcc": -INF}),
    ({"aAcc": True, "mIoU": "40", "mAcc": 3.0}, {"aAcc": True, "mIoU": "40"}),
    ({"mIoU": 1.0}, {"aAcc": None, "mAcc": None}),
    (None, {"aAcc": None, "mIoU": None, "mAcc": None}),
    ([1, 2, 3], {"aAcc": None, "mIoU": None, "mAcc": None}),
])
def test_nonfinite_metrics(metrics, bad):
    """The summary metrics that are missing, not numbers (a bool is not a score) or not finite."""
    got = nonfinite_metrics(metrics)
    assert list(got) == list(bad)
    assert all(g is b or g == b for g, b in zip(got.values(), bad.values()))


def test_write_run_record_writes_four_places_and_keeps_earlier_records(tmp_path):
    kept = write_run_record(tmp_path, RECORD, "20260101-000000", "voc20")
    assert kept == tmp_path / "results" / "20260101-000000_voc20.json"
    rec = json.loads(kept.read_text())
    assert rec["schema"] == RECORD_SCHEMA and rec["status"] == "complete" and rec["metrics"] == RECORD["metrics"]
    assert kept.read_text().startswith('{\n  "benchmark": "voc20",')  # indented, in the record's order
    assert kept.with_suffix(".txt").read_text() == SUMMARY
    assert json.loads((tmp_path / "result.json").read_text()) == rec
    assert is_complete_record(kept) and is_complete_record(tmp_path / "result.json")
    second = write_run_record(tmp_path, dict(RECORD, metrics={"aAcc": 1.0, "mIoU": 2.0, "mAcc": 3.0}),
                              "20260101-000001", "voc20")
    lines = (tmp_path / "results.jsonl").read_text().splitlines()
    assert [json.loads(x)["metrics"]["mIoU"] for x in lines] == [40.25, 2.0]  # appended, one line each
    assert json.loads(kept.read_text()) == rec  # the first record is kept
    assert load_record(tmp_path / "result.json")["metrics"]["mIoU"] == 2.0 and second.is_file()
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == [
        "20260101-000000_voc20.json", "20260101-000000_voc20.txt", "20260101-000001_voc20.json",
        "20260101-000001_voc20.txt"]


def test_write_run_record_refuses_a_run_without_a_score(tmp_path):
    with pytest.raises(RADSegError, match=r"no valid score \(mIoU=nan\); no result record written.*radseg data "
                                          r"verify"):
        write_run_record(tmp_path, dict(RECORD, metrics={"aAcc": 1.0, "mIoU": float("nan"), "mAcc": 2.0}), "s", "n")
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_text_mode_and_cleanup(tmp_path, monkeypatch):
    old = os.umask(0o027)
    try:
        atomic_write_text(tmp_path / "a" / "b.txt", "hi")
    finally:
        os.umask(old)
    p = tmp_path / "a" / "b.txt"
    assert p.read_text() == "hi" and stat.S_IMODE(p.stat().st_mode) == 0o640
    monkeypatch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        atomic_write_text(p, "new")
    assert p.read_text() == "hi" and [q.name for q in p.parent.iterdir()] == ["b.txt"]  # no temp file left


def test_load_record_and_complete(tmp_path):
    assert load_record(tmp_path / "missing.json") is None
    (tmp_path / "bad.json").write_text("{not json")
    assert load_record(tmp_path / "bad.json") is None and not is_complete_record(tmp_path / "bad.json")
    good = dict(RECORD, schema=RECORD_SCHEMA, status="complete")
    for name, rec, ok in [("good", good, True), ("schema", dict(good, schema="radseg.result/0"), False),
                          ("status", dict(good, status="failed"), False),
                          ("metrics", dict(good, metrics={"aAcc": 1.0, "mIoU": None, "mAcc": 1.0}), False),
                          ("list", [good], False)]:
        (tmp_path / f"{name}.json").write_text(json.dumps(rec))
        assert is_complete_record(tmp_path / f"{name}.json") is ok, name


def test_records_keep_the_key_order_and_the_message_lists_every_bad_metric(tmp_path):
    kept = write_run_record(tmp_path, RECORD, "s", "n")
    order = list(RECORD) + ["schema", "status"]  # the record's own order, not sorted
    assert list(json.loads(kept.read_text())) == order
    assert list(json.loads((tmp_path / "results.jsonl").read_text().splitlines()[0])) == order
    with pytest.raises(RADSegError) as e:
        write_run_record(tmp_path / "x", dict(RECORD, metrics={"aAcc": None, "mIoU": float("inf")}), "s", "n")
    assert str(e.value).startswith("the run produced no valid score (aAcc=None, mIoU=inf, mAcc=None); no result "
                                   "record written.")


def test_atomic_write_goes_through_a_hidden_temp_file_beside_the_target(tmp_path, monkeypatch):
    seen = []
    real_replace = os.replace

    def spy(src, dst):
        seen.append((src, dst))
        real_replace(src, dst)
    monkeypatch.setattr(os, "replace", spy)
    old = os.umask(0o002)
    try:
        target = tmp_path / "new" / "deeper" / "r.json"  # two missing folders
        atomic_write_text(target, "x")
    finally:
        os.umask(old)
    (src, dst), = seen
    src = Path(src)
    assert Path(dst) == target and src.parent == target.parent
    assert src.name.startswith(".r.json.") and src.name.endswith(".tmp")
    assert stat.S_IMODE(target.stat().st_mode) == 0o664  # 0o666 & ~umask, like an ordinary file
