"""Issue 15, section 3: random stand-in weights and benchmark subsets are marked wherever a
result is shown (`radseg results` in every format, per-class, `radseg report`)."""
import csv
import io
from pathlib import Path

import pytest

from radseg.cli import main as radseg_main
from radseg.results import honesty
from radseg.results.records import write_run_record


def _record(work: Path, model, num_images, bench="voc20", miou=30.0, **extra):
    rec = {"benchmark": bench, "resolution": "low_res", "model_version": model, "lang_model": "siglip2",
           "sam_refine": False, "scra_scaling": 10.0, "scga_scaling": 10.0, "num_images": num_images,
           "metrics": {"aAcc": 60.0, "mIoU": miou, "mAcc": 40.0},
           "per_class": {"sky": {"IoU": miou, "Acc": 50.0}}, "finished_at": "2026-01-01T10:00:00+0000", **extra}
    write_run_record(work, rec, "20260101_100000", f"low_res_{bench}")


@pytest.fixture
def runs(tmp_path):
    root = tmp_path / "runs"
    _record(root / "real", "c-radio_v3-b", 1449, weights="pretrained")
    _record(root / "stand-in", "tiny-random", 6, weights="random stand-in", miou=3.0)
    _record(root / "old" / "a", "c-radio_v3-b-random", 2000, bench="ade20k", model_source="replica", miou=1.0)
    _record(root / "real" / "ade", "c-radio_v3-b", 2000, bench="ade20k", miou=20.0)
    return root


def results(capsys, *args):
    rc = radseg_main(["results", *map(str, args)])
    out = capsys.readouterr()
    assert rc == 0, out.err
    return out.out


def test_the_rules():
    assert honesty.subset_text("voc20", 6) == "6 of 1449 images" and honesty.subset_text("voc20", 1449) is None
    assert honesty.subset_text("my_dataset", 6) is None  # no official count: not a subset
    assert honesty.is_random({"weights": "random stand-in"}) and not honesty.is_random({"weights": "pretrained"})
    assert honesty.is_random({"model_source": "stand-in"})  # a record from before the field
    from radseg.models.registry import model_kind, random_parts
    assert random_parts("tiny-random", "tiny-random-sam") == ["tiny-random", "tiny-random-sam"]
    assert random_parts("c-radio_v3-b", "sam_vit_h_4b8939.pth") == []
    assert random_parts("my-plugin-model", None, {"weights": "random"}) == ["my-plugin-model"]
    assert model_kind("c-radio_v3-b").kind == "RADIO" and model_kind("c-radio_v3-b-random").kind == "replica"


def test_markdown_marks_rows_cells_and_explains(runs, capsys):
    out = results(capsys, runs)
    rows = {ln.split("|")[1].strip(): [c.strip() for c in ln.strip("|").split("|")]
            for ln in out.splitlines() if ln.startswith("| ") and "Model" not in ln}
    assert rows["tiny-random †"][1:] == ["3.0 ‡", "–", "–"]       # random row, subset cell (6 of 1449)
    assert rows["c-radio_v3-b-random †"][2] == "1.0"              # old record: marked from model_source
    assert rows["c-radio_v3-b"][1:] == ["30.0", "20.0", "25.0"]   # real and complete: no mark
    assert "† random stand-in weights (c-radio_v3-b-random, tiny-random)" in out
    assert "‡ a subset of the benchmark's images" in out and "voc20 low_res: 6 of 1449 images" in out


def test_csv_latex_per_class_and_report_mark_them_too(runs, capsys, tmp_path):
    rows = {r["row"]: r for r in csv.DictReader(io.StringIO(results(capsys, runs, "--format", "csv")))}
    assert rows["tiny-random"]["notes"] == "random stand-in weights; low_res/voc20: 6 of 1449 images"
    assert rows["c-radio_v3-b"]["notes"] == "" and rows["tiny-random"]["low_res/voc20"] == "3"  # numbers stay numbers
    tex = results(capsys, runs, "--format", "latex")
    assert "tiny-random$^\\dagger$" in tex and "3.0$^\\ddagger$" in tex and "\\par{\\footnotesize $^\\ddagger$" in tex
    pc = results(capsys, runs / "stand-in", "--per-class")
    assert "IoU (tiny-random †‡)" in pc and "6 of 1449 images" in pc
    from radseg.report.build import collect, render_html
    data = collect(runs, num_images=0)
    cells = dict(data.table_rows)
    assert cells["tiny-random †"][0].text == "3.0 ‡" and any("6 of 1449" in r.num_images for r in data.runs)
    html = render_html(data)
    assert "† random stand-in weights" in html and "‡ a subset of the benchmark" in html


def test_radseg_models_says_what_each_name_is(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RADSEG_SAM_CKPT", raising=False)
    assert radseg_main(["models"]) == 0
    lines = {ln.split()[0]: ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("  ")}
    assert "real RADIO weights" in lines["c-radio_v3-b"] and "not cached" in lines["c-radio_v3-b"]
    assert ("stand-in with random weights" in lines["tiny-random"]
            and "--sam_ckpt tiny-random-sam" in lines["tiny-random"])
    assert "replica with random weights" in lines["c-radio_v3-b-random"]
    assert "not found here" in lines["sam_vit_h_4b8939.pth"] and "random weights" in lines["tiny-random-sam"]
    snap = tmp_path / "hf" / "models--nvidia--C-RADIOv3-B" / "snapshots" / "abc"
    snap.mkdir(parents=True)
    assert radseg_main(["models"]) == 0
    assert "cached: " in [ln for ln in capsys.readouterr().out.splitlines() if "c-radio_v3-b " in ln][0]
