"""radseg report: the data behind the page, the CLI and its errors (no browser, no model runs)."""
import json
import re
import time
from pathlib import Path

import pytest

pytest.importorskip("jinja2", reason="radseg report needs jinja2 (pip install -e '.[report]')")
pytest.importorskip("matplotlib", reason="radseg report needs matplotlib (pip install -e '.[report]')")

from radseg.cli import main as radseg_main  # noqa: E402
from radseg.report import ReportError, build_report, collect, config_hash  # noqa: E402
from radseg.report.qualitative import _disagreement, _pred, _reduce_zero_label, load_predictions, predictions_folder  # noqa: E402
from radseg.results.table import find_records  # noqa: E402
from report_datagen import make_large_work_dir, make_predictions, make_record, make_work_dir, run_dir  # noqa: E402


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """voc20 + ade20k x 3 presets x RADSeg/RADSeg+; predictions (6 images) at mid_res."""
    return make_work_dir(tmp_path_factory.mktemp("report") / "sweep")


@pytest.fixture(scope="module")
def data(work):
    return collect(work)


def md_rows(text):
    rows = [ln for ln in text.splitlines() if ln.startswith("|")]
    return [[c.strip() for c in ln.strip("|").split("|")] for ln in rows]


def test_table_has_the_numbers_of_radseg_results(work, data, tmp_path, capsys):
    ref = tmp_path / "ref.yaml"
    ref.write_text("metric: mIoU\nrows:\n  c-radio_v3-b:\n    mid_res: {voc20: 80.0, ade20k: 35.0}\n"
                   "  c-radio_v3-b + SAM:\n    low_res: {voc20: 80.9}\n")
    for reference in (None, ref):
        args = ["results", str(work)] + (["--reference", str(ref)] if reference else [])
        assert radseg_main(args) == 0
        rows = md_rows(capsys.readouterr().out)
        d = collect(work, reference=str(reference) if reference else None, num_images=0)
        assert rows[0][1:] == [f"{res} {h}" for (res, span) in d.table_groups for h, _ in
                               d.table_headers[:span]]
        page = [[label] + [" ".join(x for x in (c.text, c.delta) if x) for c in cells]
                for label, cells in d.table_rows]
        assert page == rows[2:]
    d = collect(work, reference=str(ref), num_images=0)
    cells = dict(d.table_rows)
    headers = [h for h, _ in d.table_headers]
    mid_voc = 3 + headers[3:].index("VOC20")  # low_res: VOC20 ADE20K Avg | mid_res: VOC20 ...
    assert cells["c-radio_v3-b"][mid_voc].cls == "up"  # 81.5 > 80.0: green
    assert cells["c-radio_v3-b"][mid_voc + 1].cls == "down"  # ADE20K 29.8 < 35.0: red
    assert cells["c-radio_v3-b + SAM"][0].cls == "same"  # 80.9 - 80.9
    assert d.has_reference and not d.reference_notes


def test_resolution_charts_per_dataset_and_row_colours(data):
    assert [t for t, _ in data.resolution_plots] == ["VOC20", "ADE20K"]
    assert all(uri.startswith("data:image/svg+xml;base64,") for _, uri in data.resolution_plots)
    rows = [r for r, _ in data.row_colours]
    assert rows == ["c-radio_v3-b", "c-radio_v3-b + SAM"]
    assert len({c for _, c in data.row_colours}) == 2  # RADSeg light, RADSeg+ dark


def test_per_class_bars_sorted_with_refine_difference(work, data):
    assert [(s.resolution, s.dataset) for s in data.per_class] == [
        (r, d) for r in ("low_res", "mid_res", "high_res") for d in ("voc20", "ade20k")]
    sec = data.per_class[2]  # mid_res voc20
    g = sec.groups[0]
    assert g.columns == ["c-radio_v3-b", "c-radio_v3-b + SAM"] and g.has_diff
    first = [v for (v, _), *_ in (r.values for r in g.rows)]
    known = [v for v in first if v is not None]
    assert known == sorted(known, reverse=True) and first[-1] is None  # NaN class last
    off = json.loads((run_dir(work, "c-radio_v3-b", False, "mid_res", "voc20") / "result.json").read_text())
    on = json.loads((run_dir(work, "c-radio_v3-b", True, "mid_res", "voc20") / "result.json").read_text())
    for r in g.rows:
        a, b = off["per_class"][r.name]["IoU"], on["per_class"][r.name]["IoU"]
        assert (r.values[0][0], r.values[1][0]) == (a, b)
        if a is not None and b is not None:
            assert r.diff == pytest.approx(b - a)
            assert r.diff_text == f"{round(b - a, 1) + 0.0:+.1f}"
    assert max(r.diff_width for r in g.rows) == 50.0
    assert g.summary == [f"{off['metrics']['mIoU']:.1f}", f"{on['metrics']['mIoU']:.1f}"]


def test_speed_and_provenance_per_run(work, data):
    assert len(data.runs) == data.n_records == 12
    r = next(x for x in data.runs if x.row == "c-radio_v3-b + SAM" and x.resolution == "high_res"
             and x.dataset == "VOC20")
    rec = json.loads((run_dir(work, "c-radio_v3-b", True, "high_res", "voc20") / "result.json").read_text())
    assert r.images_per_s == f"{rec['images_per_s']:.3g}"
    assert r.ms_per_image == f"{1000 / rec['images_per_s']:.1f}"
    assert r.device == rec["device"] and r.model_source == "hub"
    assert rec["model_revision"].startswith(r.model_revision) and len(r.model_revision) == 12
    assert r.config_hash == config_hash(rec) and re.fullmatch(r"[0-9a-f]{12}", r.config_hash)
    assert "torch 2.14.1" in r.versions
    assert data.speed_plot.startswith("data:image/svg+xml")


def test_config_hash_ignores_work_dir_only():
    a = {"settings": {"model": {"scra_scaling": 10.0}, "work_dir": "/a"}}
    b = {"settings": {"work_dir": "/b", "model": {"scra_scaling": 10.0}}}
    c = {"settings": {"model": {"scra_scaling": 5.0}, "work_dir": "/a"}}
    assert config_hash(a) == config_hash(b) != config_hash(c)
    assert config_hash({}) == ""
    # a record that carries eval.py's own hash (of its radseg_config) is shown with that one
    assert config_hash({**a, "config_hash": "0123456789ab"}) == "0123456789ab"


def test_qualitative_grids_pick_the_pair_and_the_largest_disagreements(work, data):
    assert [g.dataset for g in data.grids] == ["voc20", "ade20k"]
    g = data.grids[0]
    assert g.resolution == "mid_res" and "c-radio_v3-b at mid_res" in g.source
    assert g.headers == ["image", "ground truth", "prediction (c-radio_v3-b)",
                         "RADSeg+ prediction (c-radio_v3-b + SAM)"]
    assert len(g.rows) == 4 and len({r.name for r in g.rows}) == 4
    assert [r.why.split(" (")[0] for r in g.rows] == ["largest disagreement"] * 2 + ["fixed sample"] * 2
    # the two most different images of all six
    cells = find_records(work)[0]
    off = next(e for e in cells if e.dataset == "voc20" and e.resolution == "mid_res"
               and not e.record["sam_refine"])
    on = next(e for e in cells if e.dataset == "voc20" and e.resolution == "mid_res"
              and e.record["sam_refine"])
    a, b = load_predictions(predictions_folder(off)), load_predictions(predictions_folder(on))
    ranked = sorted(a.items, key=lambda p: -_disagreement(_pred(a, p), _pred(b, p)))
    assert [r.name for r in g.rows[:2]] == [Path(p).name for p in ranked[:2]]
    for row in g.rows:
        assert [c.kind for c in row.cells] == ["image", "label", "label", "label"]
        assert all(c.src.startswith("data:image/png;base64,") for c in row.cells)
        assert row.cells[2].note.startswith("pixel acc.")
    names = [n for n, _ in g.legend]
    assert "ignored / unlabelled" in names  # VOC's boundary band
    assert all(n in a.classes + ["ignored / unlabelled"] for n in names)
    # deterministic
    assert [r.name for r in collect(work).grids[0].rows] == [r.name for r in g.rows]


def test_ground_truth_convention(work, tmp_path):
    """voc20/ade20k ground truth on disk is class+1 (reduce_zero_label); cityscapes is not;
    predictions.json may say so itself."""
    entries = find_records(work)[0]
    voc = next(e for e in entries if e.dataset == "voc20" and e.record.get("predictions_dir"))
    preds = load_predictions(predictions_folder(voc))
    assert _reduce_zero_label(voc, preds) is True
    preds.reduce_zero_label = False
    assert _reduce_zero_label(voc, preds) is False
    cs = make_predictions(tmp_path / "p", tmp_path / "data", "cityscapes", 2)
    path = make_record(tmp_path / "cs", "cityscapes", "mid_res", predictions_dir=cs)
    e = find_records(path)[0][0]
    assert _reduce_zero_label(e, load_predictions(cs)) is False
    # the page's grid matches: ground truth painted in prediction colours, class by class
    d = collect(tmp_path / "cs")
    assert d.grids and d.grids[0].rows[0].cells[1].kind == "label"
    # one run with predictions (no RADSeg+ partner): no RADSeg+ column, a fixed sample
    assert d.grids[0].headers == ["image", "ground truth", "prediction (c-radio_v3-b)"]
    assert {r.why for r in d.grids[0].rows} == {"fixed sample"}


def test_num_images_and_missing_predictions(work, tmp_path):
    assert collect(work, num_images=0).grids == []
    d = collect(work, num_images=7)  # more than there are: all six, once each
    assert len(d.grids[0].rows) == 6
    root = tmp_path / "w"
    make_record(root / "a", "voc20", "mid_res", predictions_dir=tmp_path / "gone")
    d = collect(root)
    assert d.grids == [] and any("has no predictions.json" in n for n in d.grid_notes)


def test_cli_writes_a_self_contained_page(work, tmp_path, capsys):
    out = tmp_path / "sub" / "report.html"
    rc = radseg_main(["report", str(work), "-o", str(out), "--num-images", "2", "--title", "My <sweep>"])
    err = capsys.readouterr().err
    assert rc == 0, err
    assert f"wrote {out}" in err
    html = out.read_text(encoding="utf-8")
    assert "<title>My &lt;sweep&gt;</title>" in html  # escaped
    refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)["']""", html)
    assert refs and all(r.startswith(("data:", "#")) for r in refs), [
        r for r in refs if not r.startswith(("data:", "#"))][:3]
    assert "<script" not in html and "<link" not in html and "@import" not in html and "url(" not in html
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html


@pytest.mark.parametrize("case", ["missing", "empty", "out_is_dir", "out_parent_is_file", "bad_metric"])
def test_errors_are_one_line(case, work, tmp_path, capsys):
    args = {"missing": [str(tmp_path / "nope"), "-o", str(tmp_path / "r.html")],
            "empty": [str(tmp_path), "-o", str(tmp_path / "r.html")],
            "out_is_dir": [str(work), "-o", str(tmp_path)],
            "out_parent_is_file": [str(work), "-o", str(tmp_path / "f.txt" / "r.html")],
            "bad_metric": [str(work), "--num-images", "-1"]}[case]
    (tmp_path / "f.txt").write_text("x")
    rc = radseg_main(["report", *args])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert not (tmp_path / "r.html").exists()


def test_unwritable_output_is_an_error(work, tmp_path, monkeypatch):
    import radseg.report.build as build
    def fail(path, text):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(build, "atomic_write_text", fail)
    with pytest.raises(ReportError, match="cannot be written: Permission denied"):
        build_report(work, tmp_path / "r.html")


def test_three_hundred_runs_render_in_seconds(tmp_path):
    root = make_large_work_dir(tmp_path / "big", n_images=4)  # 10 models x 2 x 3 presets x 5 datasets
    t0 = time.perf_counter()
    out, d = build_report(root, tmp_path / "big.html")
    seconds = time.perf_counter() - t0
    assert d.n_records == 300 and len(d.grids) == 5 and len(d.per_class) == 15
    assert sum(len(s.groups) for s in d.per_class) == 150
    assert seconds < 30, f"300 runs took {seconds:.1f} s"  # about 2 s on one free core
