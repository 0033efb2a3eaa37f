"""radseg results: tables from synthetic result records (no model runs)."""
import csv
import io
from pathlib import Path

import pytest

from radseg.cli import main as radseg_main
from radseg.results.records import write_run_record
from radseg.results.reference import ReferenceFileError, load_reference
from radseg.results.table import build_table, find_records, render, row_label

ROOT = Path(__file__).resolve().parents[1]


def make_record(work, bench, res, miou, model="c-radio_v3-b", refine=False, lang="siglip2",
                scra=10.0, finished="2026-01-01T10:00:00+0000", classes=("sky", "road"), num_images=None):
    """A full-benchmark record (``num_images``: the official count unless given)."""
    from radseg.results.honesty import official_count
    num_images = official_count(bench) or 3 if num_images is None else num_images
    rec = {"benchmark": bench, "resolution": res, "model_version": model, "lang_model": lang,
           "sam_refine": refine, "scra_scaling": scra, "scga_scaling": 10.0,
           "metrics": {"aAcc": miou + 20, "mIoU": miou, "mAcc": miou + 5},
           "per_class": {c: {"IoU": miou + i, "Acc": miou + 10 + i} for i, c in enumerate(classes)},
           "num_images": num_images, "finished_at": finished}
    write_run_record(work, rec, finished.replace(":", "")[:15], f"{res}_{bench}")
    return Path(work) / "result.json"


@pytest.fixture
def grid(tmp_path):
    """2 models rows (off/+SAM) x low_res {voc20, ade20k} x mid_res {voc20}."""
    root = tmp_path / "sweep"
    vals = {("c-radio_v3-b", False, "low_res", "voc20"): 40.25, ("c-radio_v3-b", False, "low_res", "ade20k"): 20.0,
            ("c-radio_v3-b", False, "mid_res", "voc20"): 44.0, ("c-radio_v3-b", True, "low_res", "voc20"): 45.5,
            ("c-radio_v3-b", True, "low_res", "ade20k"): 22.5}
    for (m, refine, res, ds), v in vals.items():
        make_record(root / m / ("refine" if refine else "norefine") / res / ds, ds, res, v, m, refine)
    return root, vals


def run_cli(capsys, *args):
    rc = radseg_main(["results", *map(str, args)])
    out = capsys.readouterr()
    return rc, out.out, out.err


def md_rows(text):
    rows = [ln for ln in text.splitlines() if ln.startswith("|")]
    return [[c.strip() for c in ln.strip("|").split("|")] for ln in rows]


def test_markdown_layout_rows_columns_and_average(grid, capsys):
    root, vals = grid
    rc, out, err = run_cli(capsys, root)
    assert rc == 0, err
    rows = md_rows(out)
    assert rows[0] == ["Model", "low_res VOC20", "low_res ADE20K", "low_res Avg", "mid_res VOC20", "mid_res Avg"]
    assert rows[2] == ["c-radio_v3-b", "40.2", "20.0", "30.1", "44.0", "44.0"]  # 40.25 -> 40.2 (half-even)
    assert rows[3] == ["c-radio_v3-b + SAM", "45.5", "22.5", "34.0", "–", "–"]  # no average over a gap


def test_csv_keeps_record_values(grid, capsys):
    root, vals = grid
    rc, out, _ = run_cli(capsys, root, "--format", "csv")
    assert rc == 0
    rows = {r["row"]: r for r in csv.DictReader(io.StringIO(out))}
    for (m, refine, res, ds), v in vals.items():
        assert float(rows[m + (" + SAM" if refine else "")][f"{res}/{ds}"]) == v
    assert rows["c-radio_v3-b"]["sam_refine"] == "False" and rows["c-radio_v3-b + SAM"]["sam_refine"] == "True"
    assert rows["c-radio_v3-b + SAM"]["mid_res/voc20"] == ""


def test_newest_record_per_cell_wins_and_incomplete_are_skipped(grid, capsys):
    root, _ = grid
    make_record(root / "rerun_elsewhere", "voc20", "low_res", 50.0, finished="2026-02-01T10:00:00+0000")
    make_record(root / "older", "voc20", "low_res", 10.0, finished="2025-02-01T10:00:00+0000")
    bad = root / "crashed" / "result.json"
    bad.parent.mkdir()
    bad.write_text('{"schema": "radseg.result/1", "status": "compl')
    rc, out, err = run_cli(capsys, root, "--format", "csv")
    assert rc == 0
    row = next(r for r in csv.DictReader(io.StringIO(out)) if r["row"] == "c-radio_v3-b")
    assert float(row["low_res/voc20"]) == 50.0
    assert "skipped incomplete record" in err and "crashed" in err


def test_row_labels_show_non_default_settings():
    assert row_label({"model_version": "c-radio_v3-l", "sam_refine": True, "lang_model": "siglip2",
                      "scra_scaling": 10.0, "scga_scaling": 10.0}) == "c-radio_v3-l + SAM"
    assert row_label({"model_version": "/ckpt/radio_v2.5-b.pth.tar", "lang_model": "siglip",
                      "scra_scaling": 5.0, "scga_scaling": 10.0}) == "radio_v2.5-b.pth.tar (siglip, s_ra=5)"


def test_latex(grid, capsys):
    root, _ = grid
    rc, out, _ = run_cli(capsys, root, "--format", "latex", "--metric", "mAcc")
    assert rc == 0
    assert "\\multicolumn{3}{c}{low\\_res}" in out and "\\multicolumn{2}{c}{mid\\_res}" in out
    assert "c-radio\\_v3-b + SAM & 50.5 & 27.5 & 39.0 & -- & -- \\\\" in out
    assert out.rstrip().endswith("\\end{tabular}")


def test_reference_yaml_adds_differences(grid, tmp_path, capsys):
    root, _ = grid
    ref = tmp_path / "ref.yaml"
    ref.write_text("metric: mIoU\nrows:\n  c-radio_v3-b:\n    low_res: {voc20: 40.0, ade20k: 21.0}\n"
                   "  c-radio_v3-b + SAM:\n    low_res: {voc20: 45.5, ade20k: null}\n"
                   "  not-a-row:\n    low_res: {voc20: 1}\n")
    rc, out, err = run_cli(capsys, root, "--reference", ref)
    assert rc == 0, err
    rows = md_rows(out)
    assert rows[2][1:4] == ["40.2 (+0.2)", "20.0 (-1.0)", "30.1 (-0.4)"]  # avg ref 30.5 from the cells
    assert rows[3][1:3] == ["45.5 (+0.0)", "22.5"]
    assert "not-a-row" in err  # unmatched reference rows are pointed out
    rc, out, _ = run_cli(capsys, root, "--reference", ref, "--format", "csv")
    row = next(r for r in csv.DictReader(io.StringIO(out)) if r["row"] == "c-radio_v3-b")
    assert row["low_res/voc20 ref"] == "40" and row["low_res/voc20 diff"] == "+0.25"


def test_reference_csv_and_the_example_file(grid, tmp_path, capsys):
    root, _ = grid
    ref = tmp_path / "ref.csv"
    ref.write_text("row,low_res/voc20,mid_res/voc20\nc-radio_v3-b,40.0,\n")
    rc, out, _ = run_cli(capsys, root, "--reference", ref)
    assert rc == 0 and md_rows(out)[2][1] == "40.2 (+0.2)" and md_rows(out)[2][4] == "44.0"
    values, metric = load_reference(ROOT / "docs" / "reference_results_example.yaml")
    assert metric == "mIoU" and values[("c-radio_v3-b + SAM", "low_res", "voc20")] > 0
    assert ("c-radio_v3-b + SAM", "mid_res", "cityscapes") not in values  # null = unknown


@pytest.mark.parametrize("name,text,where", [
    ("r.yaml", "rows:\n  c-radio_v3-b:\n    low_res: {voc20: 47.3, ade20k: abc}\n",
     "row 'c-radio_v3-b', column 'low_res/ade20k': 'abc' is not a number"),
    ("r.csv", "row,low_res/voc20,low_res/ade20k\nc-radio_v3-b,47.3,4x\n",
     "row 'c-radio_v3-b' (line 2), column 'low_res/ade20k': '4x' is not a number"),
    ("r.yaml", "rows:\n  c-radio_v3-b:\n    ultra_res: {voc20: 1}\n", "unknown resolution 'ultra_res'"),
    ("r.csv", "row,voc20\nc-radio_v3-b,1\n", "column 'voc20' is not '<resolution>/<dataset>'"),
    ("r.yaml", "rows: [1, 2\n", "is not valid YAML"),
])
def test_malformed_reference_is_a_clear_error(grid, tmp_path, capsys, name, text, where):
    root, _ = grid
    before = {p: p.read_bytes() for p in root.rglob("*.json")}
    ref = tmp_path / name
    ref.write_text(text)
    rc, out, err = run_cli(capsys, root, "--reference", ref)
    assert rc == 2 and out == ""
    assert err.startswith("error: ") and where in err and str(ref) in err and "Traceback" not in err
    assert {p: p.read_bytes() for p in root.rglob("*.json")} == before  # no record touched


def test_reference_metric_must_match(grid, tmp_path, capsys):
    root, _ = grid
    ref = tmp_path / "r.yaml"
    ref.write_text("metric: mAcc\nrows: {}\n")
    rc, _, err = run_cli(capsys, root, "--reference", ref)
    assert rc == 2 and "--metric mAcc" in err


def test_per_class(grid, capsys):
    root, _ = grid
    rc, out, _ = run_cli(capsys, root / "c-radio_v3-b/norefine/low_res/voc20", "--per-class")
    assert rc == 0
    rows = md_rows(out)
    assert rows[0] == ["class", "IoU (c-radio_v3-b)", "Acc (c-radio_v3-b)"]
    assert rows[2] == ["sky", "40.2", "50.2"] and rows[-1][0] == "mean"
    rc, out, _ = run_cli(capsys, root, "--per-class", "voc20", "--resolution", "low", "--format", "csv")
    assert rc == 0
    lines = list(csv.reader(io.StringIO(out)))
    assert lines[0] == ["class", "IoU (c-radio_v3-b)", "IoU (c-radio_v3-b + SAM)"]
    assert lines[1] == ["sky", "40.25", "45.5"]
    rc, _, err = run_cli(capsys, root, "--per-class")
    assert rc == 2 and "one dataset at one resolution" in err and "low_res/ade20k" in err


def test_out_file_and_refusals(grid, tmp_path, capsys):
    root, _ = grid
    out_file = tmp_path / "table.tex"
    rc, out, _ = run_cli(capsys, root, "--format", "latex", "--out", out_file)
    assert rc == 0 and out == "" and "\\begin{tabular}" in out_file.read_text()
    rec = root / "c-radio_v3-b/norefine/low_res/voc20/result.json"
    before = rec.read_bytes()
    rc, _, err = run_cli(capsys, root, "--out", rec)
    assert rc == 2 and "refusing to overwrite" in err and rec.read_bytes() == before


def test_empty_missing_and_file_work_dirs(tmp_path, capsys):
    rc, _, err = run_cli(capsys, tmp_path)
    assert rc == 2 and "no complete result records" in err
    rc, _, err = run_cli(capsys, tmp_path / "nope")
    assert rc == 2 and "does not exist" in err
    f = tmp_path / "notes.txt"
    f.write_text("x")
    rc, _, err = run_cli(capsys, f)
    assert rc == 2 and "is a file" in err


def test_library_api(grid):
    root, vals = grid
    entries, bad = find_records(root)
    assert len(entries) == 5 and not bad
    t = build_table(entries)
    assert t.rows == ["c-radio_v3-b", "c-radio_v3-b + SAM"]
    assert t.groups == [("low_res", ["voc20", "ade20k"]), ("mid_res", ["voc20"])]
    assert t.avg("c-radio_v3-b", "low_res") == pytest.approx(30.125)
    assert render(t, "md").count("\n|") == 3
    with pytest.raises(ReferenceFileError):
        load_reference(root / "missing.yaml")


def test_atomic_write_gives_ordinary_file_permissions(tmp_path):
    import os
    import stat

    from radseg.results.records import atomic_write_text
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "r.json", "{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "r.json").st_mode) == 0o644
    assert not list(tmp_path.glob(".*.tmp"))


def test_cfg_options_overrides_get_their_own_row():
    from radseg.results.table import row_label
    base = {"model_version": "c-radio_v3-b", "lang_model": "siglip2", "scra_scaling": 10.0, "scga_scaling": 10.0}
    assert row_label(base) == "c-radio_v3-b"
    assert row_label(dict(base, cfg_options=["model.slide_stride=112"], sam_refine=True)) == \
        "c-radio_v3-b (model.slide_stride=112) + SAM"


def _write_json(path, obj):
    import json
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))
    return path


MALFORMED = [
    ([1, 2, 3], "it holds a JSON list, not a record object"),
    ({"schema": "radseg.result/1", "status": "complete", "metrics": [40.0]}, "'metrics' is a list"),
    ({"schema": "radseg.result/1", "status": "complete", "metrics": {"aAcc": 1, "mIoU": "40.2", "mAcc": 3}},
     "'metrics.mIoU' is \"40.2\", not a finite number"),
    ({"schema": "radseg.result/1", "status": "complete", "metrics": {"aAcc": 1, "mIoU": 2, "mAcc": 3},
      "sam_refine": "false"}, "'sam_refine' is \"false\", not true/false"),
    ({"schema": "radseg.result/1", "status": "complete", "metrics": {"aAcc": 1, "mIoU": 2, "mAcc": 3},
      "benchmark": ["voc20"]}, "'benchmark' is [\"voc20\"], not a string"),
    ({"schema": "radseg.result/1", "status": "complete", "metrics": {"aAcc": 1, "mIoU": 2, "mAcc": 3},
      "cfg_options": "model.x=1"}, "'cfg_options' is \"model.x=1\", not a list of strings"),
    ({"schema": "radseg.result/1", "status": "complete", "metrics": {"aAcc": 1, "mIoU": 2, "mAcc": 3},
      "per_class": {"sky": [1, 2]}}, "'per_class.sky' is [1, 2], not an object"),
]


@pytest.mark.parametrize("record,why", MALFORMED)
def test_malformed_records_are_skipped_with_a_note(grid, capsys, record, why):
    root, _ = grid
    bad = _write_json(root / "odd" / "result.json", record)
    rc, out, err = run_cli(capsys, root)
    assert rc == 0 and "Traceback" not in err
    assert f"note: skipped record {bad}: {why}" in err
    assert md_rows(out)[2][0] == "c-radio_v3-b"  # the good records still make the table


@pytest.mark.parametrize("record,why", MALFORMED[:2])
def test_only_malformed_records_is_one_error_line(tmp_path, capsys, record, why):
    _write_json(tmp_path / "r" / "result.json", record)
    rc, out, err = run_cli(capsys, tmp_path)
    assert rc == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "no complete result records" in err and why in err
    rc, out, err = run_cli(capsys, tmp_path / "r" / "result.json")  # the record file itself
    assert rc == 2 and why in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("name,content,pattern", [
    ("ref.yaml", b"\x00\x01\x02binary\xff", "is a binary file, not text"),
    ("ref.csv", b"\x89PNG\r\n\x1a\n\x00\x00", "is a binary file, not text"),
    ("ref.csv", "row,low_res/voc20\nc-radio_v3-b,4\xe9\n".encode("latin-1"), "line 2 is not UTF-8 text"),
    ("ref.yaml", b"metric: [mIoU]\nrows: {}\n", "'metric' must be a name"),
])
def test_bad_reference_files_are_one_clear_error(grid, capsys, tmp_path, name, content, pattern):
    root, _ = grid
    ref = tmp_path / name
    ref.write_bytes(content)
    rc, out, err = run_cli(capsys, root, "--reference", ref)
    assert rc == 2 and out == "" and "Traceback" not in err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1 and pattern in err and str(ref) in err


def test_reference_folder_and_out_json_list(grid, capsys, tmp_path):
    root, _ = grid
    rc, _, err = run_cli(capsys, root, "--reference", tmp_path)
    assert rc == 2 and "is a folder" in err
    target = _write_json(tmp_path / "table.json", [1, 2])  # not a record: may be replaced
    rc, _, err = run_cli(capsys, root, "--out", target)
    assert rc == 0 and target.read_text().startswith("| Model")
