"""``radseg bench --methods``: the method axis (issue 26 section 1) on RADSeg and a toy method,
CPU, --small. Structure and honesty marks only, never a speed."""
import json

import pytest

from radseg.cli import main

PLUGIN = "bench_toy_method"  # tests/bench_toy_method.py: 'benchtoy' and the unavailable 'benchtoy-missing'


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    import contextlib
    import io
    d = tmp_path_factory.mktemp("bench_methods")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = main(["bench", "--device", "cpu", "--preset", "voc_low", "--small", "--methods", "radseg", "benchtoy",
                   "benchtoy-missing", "--plugin", PLUGIN, "--peak-memory", "off",
                   "--json", str(d / "b.json"), "--md", str(d / "b.md")])
    assert rc == 0, out.getvalue()
    return json.loads((d / "b.json").read_text()), (d / "b.md").read_text(), out.getvalue()


def test_rows_follow_the_schema(report):
    rep, _, _ = report
    assert isinstance(rep["machine"], str) and rep["device"].startswith("CPU") and rep["random_weights"] is True
    assert "meta" in rep and rep["meta"]["methods"] == ["radseg", "benchtoy", "benchtoy-missing"]
    assert [(r["method"], r["preset"]) for r in rep["rows"]] == [
        ("radseg", "voc_low"), ("benchtoy", "voc_low"), ("benchtoy-missing", "voc_low")]
    for r in rep["rows"]:
        assert set(r) >= {"method", "preset", "ms_median", "ms_iqr", "params", "flops", "peak_mem_mib",
                          "ratio_to_radseg", "notes"}
        assert set(r["ratio_to_radseg"]) == {"ms", "params"} and isinstance(r["notes"], list)


def test_parameters_flops_latency_and_memory_are_measured(report):
    rep, _, _ = report
    radseg, toy, _ = rep["rows"]
    # the toy's models, found as nn.Module attributes: clip 8*3*3*3+8, head (20 classes) 8*20+20
    assert toy["params"] == {"total": 404, "clip": 224, "head": 180}
    assert set(radseg["params"]) == {"total", "radio", "adaptors"}  # RADSegPredictor.modules_for_count
    assert radseg["params"]["total"] == radseg["params"]["radio"] + radseg["params"]["adaptors"] > 0
    assert radseg["flops"]["total"] > 0 and "windows_backbone" in radseg["flops"]  # per stage
    assert sum(v for k, v in radseg["flops"].items() if k != "total") <= radseg["flops"]["total"]
    assert toy["flops"]["total"] == toy["flops"]["clip"] + toy["flops"]["head"] > 0  # per model
    # ms per stage: RADSeg's encoder stages (the stage timer rides along in the timed CPU calls); the
    # toy has no stage-timer hook, so no stage breakdown (not an invented one)
    assert list(radseg["stage_ms"])[:1] == ["windows_backbone"] and all(v >= 0 for v in radseg["stage_ms"].values())
    assert sum(radseg["stage_ms"].values()) <= radseg["ms_median"] * 1.5 + 5
    assert toy["stage_ms"] == {}
    assert [r["protocol"] for r in rep["rows"]] == ["radseg"] * 3  # --protocol radseg (the default)
    for r in (radseg, toy):
        assert r["ms_median"] > 0 and r["ms_iqr"] >= 0
        assert r["peak_mem_mib"] is None  # --peak-memory off (the fresh processes: the next test)
    assert rep["meta"]["peak_memory"] == "not measured"
    assert radseg["limit_ms"] > 0 and toy["limit_ms"] is None
    assert radseg["ratio_to_radseg"] == {"ms": 1.0, "params": 1.0}
    assert toy["ratio_to_radseg"]["params"] == round(404 / radseg["params"]["total"], 3)
    assert toy["ratio_to_radseg"]["ms"] == round(toy["ms_median"] / radseg["ms_median"], 3)


def test_peak_memory_is_a_fresh_process_measured():
    """On the CPU each method's peak RSS is read in a fresh process that builds and runs it (one
    child here: the toy); its peak before building is the interpreter's and torch's share."""
    import os

    from radseg.bench.peak_rss import _own_peak_mib, peak_rss_mib
    from radseg.bench.plan import plan_bench
    plan = plan_bench(presets=["voc_low"], device="cpu", small=True, refine=(False,), modes=("exact",), repeats=1,
                      warmup=1, methods=["benchtoy"], plugins=[PLUGIN])
    got = peak_rss_mib(plan, "benchtoy", "voc_low")
    assert got["imports_mib"] > 50 and got["peak_mib"] >= got["imports_mib"]  # torch alone is > 50 MiB
    if os.path.exists("/proc/self/status"):  # the child's own high-water mark, not this (larger) process's
        assert got["peak_mib"] < _own_peak_mib() + 2048


def test_honesty_marks(report):
    rep, md, _ = report
    missing = rep["rows"][2]
    assert missing["ms_median"] is None and missing["params"] == {} and missing["peak_mem_mib"] is None
    assert missing["notes"][0].startswith("measured nothing") and "not in this release" in missing["notes"][0]
    assert all(any(n.startswith("random weights") for n in r["notes"]) for r in rep["rows"][:2])
    assert rep["machine"] in md and "**random weights**" in md and "**measured nothing" in md
    assert "--small" in md and "| benchtoy | voc_low |" in md


def test_ratios_and_the_limit_mark_from_rows():
    from radseg.bench.compare import ratios_to_radseg
    rows = [{"method": "radseg", "preset": "p", "ms_median": 10.0, "params": {"total": 100}, "notes": []},
            {"method": "other", "preset": "p", "ms_median": 25.0, "params": {"total": 250}, "notes": []},
            {"method": "other", "preset": "q", "ms_median": 5.0, "params": {"total": 1}, "notes": []}]
    ratios_to_radseg(rows)
    assert rows[1]["ratio_to_radseg"] == {"ms": 2.5, "params": 2.5}
    assert rows[2]["ratio_to_radseg"] == {"ms": None, "params": None} and "no radseg row" in rows[2]["notes"][0]


@pytest.mark.parametrize("argv,needle", [
    (["--methods", "nope"], "unknown method 'nope'"),
    (["--methods", "radseg", "--preset", "nope_low"], "unknown bench preset 'nope_low'"),
    # classic-bench options that --methods would silently ignore are errors instead
    (["--methods", "radseg", "--refine", "on"], "--refine does not apply to --methods"),
    (["--methods", "radseg", "--batch", "2", "--mode", "fast"], "--mode, --batch do not apply to --methods"),
    (["--methods", "radseg", "--backend", "torch", "onnxruntime"], "--backend does not apply to --methods"),
    (["--protocol", "own"], "--protocol applies to --methods"),
    (["--order", "blocked"], "--order applies to --methods"),
])
def test_mistakes_are_one_line(argv, needle, capsys):
    rc = main(["bench", "--device", "cpu", "--small", *argv])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and needle in err[0]


def test_the_baselines_are_timed_with_their_stand_ins(tmp_path, capsys):
    """NACLIP and Trident at --small (tiny-random), under RADSeg's preset and their own protocol:
    Trident's SAM branch gets the bench image as a file of the original size (TRIDENT.md T1), so its
    row measures; both count their models and report FLOPs and ms per stage of their own steps."""
    rc = main(["bench", "--device", "cpu", "--preset", "voc_high", "--small", "--methods", "radseg", "naclip",
               "trident", "--protocol", "both", "--peak-memory", "off", "--repeats", "1", "--warmup", "1",
               "--json", str(tmp_path / "b.json"), "--md", str(tmp_path / "b.md")])
    out = capsys.readouterr()
    assert rc == 0, out.err[-2000:]
    assert "round 1/1: radseg" in out.out  # progress while it runs
    rows = {(r["method"], r["protocol"]): r for r in json.loads((tmp_path / "b.json").read_text())["rows"]}
    assert set(rows) == {("radseg", "radseg"), ("naclip", "radseg"), ("naclip", "own"), ("trident", "radseg"),
                         ("trident", "own")}
    for p in ("radseg", "own"):
        assert set(rows["naclip", p]["params"]) >= {"total", "clip"}
        assert set(rows["trident", p]["params"]) >= {"total", "clip", "dino", "sam"}
        assert {"windows_clip", "pamr", "postprocess"} <= set(rows["naclip", p]["stage_ms"])
        assert {"windows_clip", "pamr"} <= set(rows["naclip", p]["flops"])
        assert {"sam_branch", "dino", "clip", "attention", "sam_refinement"} <= set(rows["trident", p]["stage_ms"])
        # Trident's SAM refinement is driven like RADSeg+'s (peaked queries): its regions are counted
        tr = rows["trident", p]
        assert tr["peaked_classes"] == 3 and tr["sam_regions_per_image"] > 0 and tr["sam_decoder_calls_per_image"] > 0
        assert "not measuring refinement" not in tr["notes"] and rows["naclip", p]["peaked_classes"] == 0
        for m in ("naclip", "trident"):
            r = rows[m, p]
            assert r["ms_median"] > 0 and r["ratio_to_radseg"]["ms"] > 0, r
            assert 0 < sum(r["stage_ms"].values()) <= r["ms_median"] * 1.5 + 5
    # the input each ran at: RADSeg's voc_high resize (short side 672) under its protocol, the release's
    # own resize under 'own'
    # (NACLIP and Trident resize VOC to a short side of 336 px; quartered by --small: 84)
    assert rows["naclip", "radseg"]["input_size"] == rows["radseg", "radseg"]["input_size"]
    assert min(rows["naclip", "own"]["input_size"]) == 84 != min(rows["radseg", "radseg"]["input_size"])
    md = (tmp_path / "b.md").read_text()
    assert "| naclip (own) | voc_high |" in md and "*(own)*" in md


def test_the_stage_timer_does_not_change_a_bit():
    """The baselines' stage-timer hook (radseg bench) around every step: the same labels and
    probabilities bit for bit with it on as with it off."""
    import numpy as np
    import torch

    from radseg.bench.method_build import bench_image_file
    from radseg.bench.timing import StageTimer
    from radseg.methods.naclip.predictor import NaclipPredictor
    from radseg.methods.naclip.settings import NaclipSettings
    from radseg.methods.trident.predictor import TridentPredictor
    from radseg.methods.trident.settings import TridentSettings
    torch.manual_seed(0)
    img = torch.randn(1, 3, 96, 128) * 60
    path = bench_image_file(img, (90, 120))
    for pred in (NaclipPredictor.from_settings(NaclipSettings(model_version="tiny-random", scale=(512, 96))),
                 TridentPredictor.from_settings(TridentSettings(model_version="tiny-random", scale=(512, 96)))):
        pred.set_classes(["sky", "dog", "cat"])
        off = pred.predict_normalized(img, (90, 120), image_path=path)
        pred.timer = StageTimer("cpu")
        on = pred.predict_normalized(img, (90, 120), image_path=path)
        assert pred.timer.lap(), type(pred).__name__  # the hook ran
        pred.timer = None
        assert torch.equal(on.labels, off.labels) and torch.equal(on.probs, off.probs)
        assert np.isfinite(on.probs.numpy()).all()


def test_peaked_queries_replace_the_first_rows_by_farthest_unit_features():
    """A baseline's peaked workload: the first ``present`` queries become unit feature rows at
    farthest-point cells (seeded, so the same every run), the others keep their embeddings."""
    import torch

    from radseg.bench.workload import peaked_queries
    g = torch.Generator().manual_seed(1)
    feats, text = torch.randn(50, 8, generator=g), torch.nn.functional.normalize(torch.randn(6, 8, generator=g), dim=1)
    out = peaked_queries(feats, text, 3)
    assert torch.equal(out[3:], text[3:]) and torch.allclose(out[:3].norm(dim=1), torch.ones(3))
    unit = torch.nn.functional.normalize(feats, dim=1)
    cells = [int((unit @ q).argmax()) for q in out[:3]]  # each peaked query is one of the cells, all different
    assert len(set(cells)) == 3 and all(torch.allclose(unit[c], out[i]) for i, c in enumerate(cells))
    assert torch.equal(peaked_queries(feats, text, 3), out)
    assert not torch.equal(peaked_queries(feats, text, 3, seed=2), out)


def test_flops_per_image_leave_out_the_text_tower():
    """Text embeddings are per class list: RADSeg's are computed when the bench builds it (as the
    baselines' set_classes do), so its first call, the FLOP count, does not include the text tower
    (before, it did or did not depending on whether RADSeg+ was in the same run)."""
    import torch

    from radseg.bench.measure import synthetic_images
    from radseg.bench.method_build import build_method
    from radseg.bench.methods import count_flops
    from radseg.bench.plan import plan_bench
    plan = plan_bench(presets=["voc_low"], device="cpu", small=True, repeats=1, warmup=1, methods=["radseg"])
    pred, _ = build_method(plan, "radseg", "voc_low", 20)
    img = synthetic_images(1, plan.geometry("voc_low")["input_size"])[0]
    with torch.no_grad():
        first = count_flops(pred, lambda: pred.predict_normalized(img, (93, 125)))
        second = count_flops(pred, lambda: pred.predict_normalized(img, (93, 125)))
    assert first == second and first["project_cosine"] > 0


def test_blocked_order_times_each_method_back_to_back(tmp_path, capsys):
    """``--order blocked``: each method's warm-up and repeats in a row (no call after another
    method's), said in the JSON's meta; the rows carry the same fields."""
    rc = main(["bench", "--device", "cpu", "--preset", "voc_low", "--small", "--methods", "radseg", "benchtoy",
               "--plugin", PLUGIN, "--peak-memory", "off", "--repeats", "2", "--warmup", "1", "--order", "blocked",
               "--json", str(tmp_path / "b.json")])
    out = capsys.readouterr().out
    assert rc == 0
    rep = json.loads((tmp_path / "b.json").read_text())
    assert rep["meta"]["order"] == "blocked" and "timing radseg, benchtoy blocked" in out
    assert "round 1/2" not in out and out.index("  radseg: ") < out.index("  benchtoy: ")
    assert all(r["ms_median"] > 0 for r in rep["rows"])
