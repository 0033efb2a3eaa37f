"""radseg report --bench: the speed-accuracy figure's points, their honesty marks, the claims
table, the figure alone (--figure pareto) and its errors (synthetic records and bench files)."""
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("jinja2", reason="radseg report needs jinja2 (pip install -e '.[report]')")
pytest.importorskip("matplotlib", reason="radseg report needs matplotlib (pip install -e '.[report]')")

from radseg.cli import main as radseg_main  # noqa: E402
from radseg.methods import MethodSettings, MethodSpec, register_method  # noqa: E402
from radseg.methods.registry import METHODS  # noqa: E402
from radseg.methods.settings import setting  # noqa: E402
from radseg.report import build_report  # noqa: E402
from radseg.report.bench_input import BenchFileError, load_bench, preset_dataset  # noqa: E402
from radseg.report.pareto import claims_table, pareto_points, point_notes  # noqa: E402
from radseg.results.records import load_record, write_run_record  # noqa: E402
from radseg.results.table import find_records  # noqa: E402
from test_results_table import make_record  # noqa: E402


@dataclass
class _ToySettings(MethodSettings):
    METHOD = "toyseg"
    PUBLISHED = {"voc20": 70.0}
    model_version: str = setting("ViT-B/16", "CLIP")

    def validate(self):
        return self


@pytest.fixture(scope="module")
def toy_method():
    register_method(MethodSpec(name="toyseg", summary="toy", settings_cls=_ToySettings,
                               build=lambda s, device=None: None))
    yield "toyseg"
    METHODS.pop("toyseg", None)


#: the per-method layout of ``radseg bench --methods ... --json``
BENCH = {"machine": "testhost (2 cores)", "device": "CPU x86_64 (2 threads)", "random_weights": True,
         "rows": [
             {"method": "radseg", "preset": "voc_mid", "ms_median": 800.0, "ms_iqr": 40.0,
              "params": {"total": 100_000_000, "radio": 98_000_000}},
             {"method": "radseg+", "preset": "voc_mid", "ms_median": 2000.0, "ms_iqr": 100.0,
              "params": {"total": 110_000_000}},
             {"method": "radseg", "preset": "ade20k_high", "ms_median": 4000.0, "ms_iqr": 300.0,
              "params": {"total": 100_000_000}, "notes": ["one window batch"]},
             {"method": "toyseg", "preset": "voc_mid", "ms_median": 3200.0, "ms_iqr": 200.0,
              "params": {"total": 330_000_000}},
             {"method": "toyseg", "preset": "ade20k_high", "ms_median": 10000.0, "ms_iqr": 600.0,
              "params": {"total": 330_000_000}},
             {"method": "toyseg", "preset": "cityscapes_mid", "ms_median": 9000.0, "params": {"total": 330_000_000}}]}

#: today's RADSeg-only layout (``radseg bench --json``), trimmed to the keys the report reads
OLD_BENCH = {"meta": {"device": "CPU x86_64 (2 threads, 2 cores visible)", "model_version": "c-radio_v3-b-random",
                      "small": False},
             "results": [
                 {"preset": "voc_mid", "dataset": "voc20", "resolution": "mid_res", "refine": False, "mode": "exact",
                  "batch": 2, "ms_per_image": 700.0, "measurement_valid": True},
                 {"preset": "voc_mid", "dataset": "voc20", "resolution": "mid_res", "refine": False, "mode": "exact",
                  "batch": 1, "ms_per_image": 780.0, "measurement_valid": True},
                 {"preset": "voc_mid", "dataset": "voc20", "resolution": "mid_res", "refine": False, "mode": "fast",
                  "batch": 1, "ms_per_image": 500.0},
                 {"preset": "voc_mid", "dataset": "voc20", "resolution": "mid_res", "refine": True, "mode": "exact",
                  "batch": 1, "ms_per_image": 2900.0, "measurement_valid": False, "invalid_reason": "ratio 0.8 < 1"},
                 {"preset": "voc_mid", "dataset": "voc20", "resolution": "mid_res", "refine": False, "mode": "exact",
                  "batch": 1, "backend": "onnxruntime", "ms_per_image": 400.0}]}


@pytest.fixture(scope="module")
def work(tmp_path_factory, toy_method):
    """RADSeg at voc20 mid_res (real weights), RADSeg+ there (random weights), RADSeg ade20k high_res (a
    subset); no toyseg record (its published voc20 number stands in); two bench files."""
    root = tmp_path_factory.mktemp("pareto")
    w = root / "work"
    make_record(w / "a", "voc20", "mid_res", 80.0)
    p = make_record(w / "b", "voc20", "mid_res", 83.0, refine=True)
    rec = load_record(p)
    rec["weights"] = "random stand-in"
    write_run_record(w / "b", rec, "20260101T100001", "mid_res_voc20")
    make_record(w / "c", "ade20k", "high_res", 35.0, num_images=50)
    (root / "bench.json").write_text(json.dumps(BENCH))
    (root / "old_bench.json").write_text(json.dumps(OLD_BENCH))
    (root / "empty").mkdir()
    return root


def _points(work):
    bench = load_bench(work / "bench.json")
    return bench, pareto_points(bench, find_records(work / "work")[0])


def test_preset_names_map_to_the_records_dataset_and_resolution():
    assert preset_dataset("voc_mid") == ("voc20", "mid_res")
    assert preset_dataset("coco_stuff_high") == ("coco_stuff164k", "high_res")
    assert preset_dataset("ade20k_own") == ("ade20k", "own")
    assert preset_dataset("voc20_low") == ("voc20", "low_res")
    assert preset_dataset("nowhere_mid") == (None, None) and preset_dataset("voc") == (None, None)


def test_both_bench_layouts_are_read(work):
    new = load_bench(work / "bench.json")
    assert new.random_weights and not new.small and new.where == "CPU x86_64 (2 threads) on testhost (2 cores)"
    assert [(r.method, r.preset, r.ms, r.params) for r in new.rows][:2] == [
        ("radseg", "voc_mid", 800.0, 100_000_000), ("radseg+", "voc_mid", 2000.0, 110_000_000)]
    assert new.rows[5].ms_iqr is None and new.rows[2].notes == ["one window batch"]
    old = load_bench(work / "old_bench.json")
    # exact mode, torch, the smallest batch: fast mode and ONNX Runtime rows are not the reference's
    assert [(r.method, r.preset, r.ms, r.params, r.valid) for r in old.rows] == [
        ("radseg", "voc_mid", 780.0, None, True), ("radseg+", "voc_mid", 2900.0, None, False)]
    assert old.random_weights  # c-radio_v3-b-random
    assert "ratio 0.8 < 1" in old.rows[1].notes


def test_points_take_the_records_mIoU_else_the_published_one_with_marks(work):
    _, pts = _points(work)
    by = {(p.method, p.preset): p for p in pts}
    assert (by["radseg", "voc_mid"].miou, by["radseg", "voc_mid"].source, by["radseg", "voc_mid"].marks) == (
        80.0, "record", "")
    assert (by["radseg+", "voc_mid"].miou, by["radseg+", "voc_mid"].marks) == (83.0, "†")  # random weights
    assert (by["radseg", "ade20k_high"].miou, by["radseg", "ade20k_high"].marks) == (35.0, "‡")  # 50 of 2000
    toy = by["toyseg", "voc_mid"]
    assert (toy.miou, toy.source, toy.marks) == (70.0, "published", "*")  # PUBLISHED, no record
    assert by["toyseg", "ade20k_high"].miou is None  # neither record nor published: not drawn
    notes = "\n".join(point_notes(pts))
    assert "* published mIoU" in notes and "† mIoU from random" in notes and "‡ mIoU on a subset" in notes
    assert "not drawn: toyseg · ade20k_high, toyseg · cityscapes_mid" in notes


def test_claims_table_sets_the_measured_ratios_beside_the_claims(work):
    bench, pts = _points(work)
    rows = claims_table(pts, bench)
    got = {(r.claim, r.comparison): r for r in rows}
    p = got["2.5x fewer parameters", "RADSeg vs toyseg"]
    assert (p.claimed, p.measured) == ("2.50x", "3.30x") and p.machine.startswith("CPU x86_64 (2 threads)")
    assert "random-weight replicas" in p.machine
    assert got["2.5x fewer parameters", "RADSeg+ vs toyseg"].measured == "3.00x"
    s = got["~4x faster inference", "RADSeg vs toyseg"]
    assert s.measured == "3.16x (geometric mean)"  # sqrt(4.0 * 2.5); cityscapes_mid has no RADSeg row
    assert s.detail == "voc_mid 4.00x, ade20k_high 2.50x"
    assert got["~4x faster inference", "RADSeg+ vs toyseg"].measured == "1.60x"
    g = got["mIoU gain", "RADSeg vs toyseg"]
    assert g.measured == "+10.0 *" and g.claimed == "not in the teaser"  # 80.0 vs the published 70.0
    assert got["mIoU gain", "RADSeg+ vs toyseg"].measured == "+13.0 *†"
    only_ours = load_bench(work / "old_bench.json")
    none = claims_table(pareto_points(only_ours, []), only_ours)
    assert {r.measured for r in none} == {"not measured"} and "no baseline row" in none[0].detail


def test_report_page_has_the_figure_the_claims_and_the_points(work):
    out, data = build_report(work / "work", work / "r.html", num_images=0, bench=str(work / "bench.json"))
    html = out.read_text()
    assert 'id="speed-accuracy"' in html and 'class="plot pareto"' in html and html.count("data:image/svg") >= 2
    assert len(data.pareto.points) == 6 and len(data.pareto.claims) == 6
    assert "3.30x" in html and "timed on random-weight replicas (speed only)" in html
    assert "published, not measured here" in html
    plain, _ = build_report(work / "work", work / "plain.html", num_images=0)
    assert "speed-accuracy" not in plain.read_text()  # no --bench: the page as before


@pytest.mark.parametrize("suffix,magic", [(".svg", b"<?xml"), (".png", b"\x89PNG")])
def test_figure_alone_also_for_an_empty_work_dir(work, capsys, suffix, magic):
    out = work / f"fig{suffix}"
    rc = radseg_main(["report", str(work / "empty"), "--bench", str(work / "bench.json"), "--figure", "pareto",
                      "-o", str(out)])
    err = capsys.readouterr().err
    assert rc == 0, err
    assert out.read_bytes().startswith(magic)
    assert "wrote" in err and "(1 of 6 bench rows drawn)" in err  # the published toyseg voc20 only
    assert "* published mIoU" in err


@pytest.mark.parametrize("args,message", [
    (["--figure", "pareto", "-o", "{w}/f.svg"], "--figure pareto needs --bench"),
    (["--bench", "{w}/bench.json", "--figure", "pareto", "-o", "{w}/f.html"], "writes an .svg or .png file"),
    (["--bench", "{w}/nope.json", "--figure", "pareto", "-o", "{w}/f.svg"], "does not exist"),
    (["--bench", "{w}/notjson.json", "-o", "{w}/r.html"], "is not JSON"),
    (["--bench", "{w}/other.json", "-o", "{w}/r.html"], "is not a `radseg bench --json` file"),
])
def test_bad_bench_arguments_are_one_line(work, capsys, args, message):
    (work / "notjson.json").write_text("{")
    (work / "other.json").write_text('{"a": 1}')
    rc = radseg_main(["report", str(work / "work"), *[a.format(w=work) for a in args]])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc != 0 and len(err) == 1 and err[0].startswith("error:") and message in err[0], err


def test_bench_file_error_is_a_radseg_error(work):
    with pytest.raises(BenchFileError):
        load_bench(Path(work) / "missing.json")


def test_an_own_protocol_row_is_its_own_point_and_timed_beside_radseg(tmp_path, toy_method):
    """``radseg bench --methods ... --protocol both``: a baseline's own-protocol row (its release's
    settings) takes the own-protocol mIoU (its published number here) and is a point of its own;
    the speed claim names it beside RADSeg's row of the same preset."""
    rows = [dict(BENCH["rows"][0]), dict(BENCH["rows"][3]),
            {"method": "toyseg", "protocol": "own", "preset": "voc_mid", "ms_median": 1600.0,
             "params": {"total": 330_000_000}}]
    path = tmp_path / "own.json"
    path.write_text(json.dumps({**BENCH, "rows": rows}))
    bench = load_bench(path)
    own = bench.rows[2]
    assert (own.preset, own.dataset, own.resolution) == ("voc_mid (own)", "voc20", "own")
    pts = pareto_points(bench, [])
    assert [(p.method, p.preset, p.miou, p.source) for p in pts][1:] == [
        ("toyseg", "voc_mid", 70.0, "published"), ("toyseg", "voc_mid (own)", 70.0, "published")]
    speed = {r.comparison: r for r in claims_table(pts, bench) if r.claim == "~4x faster inference"}
    assert speed["RADSeg vs toyseg"].detail == "voc_mid 4.00x, voc_mid (own) 2.00x"


def test_a_long_machine_name_wraps_instead_of_being_cut(work):
    """The subtitle (machine, load, weights) is wrapped to the figure's width: the figure grows a
    line per wrapped line instead of clipping the text at its right edge."""
    import io

    from PIL import Image

    from radseg.report.plots import pareto_figure
    _, pts = _points(work)
    short = Image.open(io.BytesIO(pareto_figure(pts, "ms per image on host", fmt="png")))
    long = Image.open(io.BytesIO(pareto_figure(pts, "ms per image on " + "a-very-long-host-name " * 20, fmt="png")))
    assert short.width == long.width and long.height > short.height


@pytest.mark.parametrize("path", sorted((Path(__file__).resolve().parents[1] / "benchmarks" / "results")
                                        .glob("methods_cpu_*.json")), ids=lambda p: p.name)
def test_the_measured_bench_files_draw(path, tmp_path):
    """The committed `radseg bench --methods` results (docs/BENCHMARKS.md) are what the report reads:
    every row a point, the baselines at their published mIoU, marked, and the machine named."""
    bench = load_bench(path)
    raw = json.loads(path.read_text())
    assert len(bench.rows) == sum(1 for r in raw["rows"] if r.get("ms_median")) > 0
    assert bench.random_weights and raw["machine"] in bench.where
    pts = pareto_points(bench, [])
    assert {p.method for p in pts} >= {"radseg", "trident"}
    assert all(p.source == "published" and p.marks == "*" for p in pts if p.method in ("naclip", "trident")
               and p.miou is not None)
    rc = radseg_main(["report", str(tmp_path), "--bench", str(path), "--figure", "pareto", "-o",
                      str(tmp_path / "f.svg")])
    assert rc == 0 and (tmp_path / "f.svg").read_bytes().startswith(b"<?xml")
