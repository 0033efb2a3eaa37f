"""NACLIP and Trident through the real entry points with their stand-ins, offline (issue 25).

eval.py (own protocol: the release's resize in the test pipeline, the record's method fields),
`radseg results` (one row per method, honest marks), `radseg segment --method`, the sweep's
`--methods` axis (planned with the stand-in; one cell run), ``radseg.build_predictor``, and
``--weights MODEL=PATH``: malformed, another method's model, a missing file and an unreadable
checkpoint are one line each, before anything loads.
"""
import json
from pathlib import Path

import pytest
from PIL import Image

from datagen import make_dataset
from test_eval_e2e import ROOT, run_eval
from test_prepare_then_eval import _in_process

BASELINES = ("naclip", "trident")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("bdata")
    make_dataset("voc20", d, n=1, size=(24, 32))
    return d


def _eval_args(data, work, *extra):
    return ["--config", ROOT / "configs_mmseg" / "low_res" / "voc20.py", "--data-root", data, "--work-dir", work,
            "--num-workers", "0", *extra]


def _record(work):
    return json.loads(sorted(Path(work).rglob("result*.json"))[-1].read_text())


@pytest.fixture(scope="module")
def evaluated(data, tmp_path_factory):
    """Each baseline evaluated once through eval.py (own protocol, tiny-random): ``{method: (result, work)}``."""
    out = {}
    for m in BASELINES:
        work = tmp_path_factory.mktemp(f"w_{m}")
        out[m] = (run_eval(*_eval_args(data, work, "--method", m, "--model_version", "tiny-random")), work)
    return out


@pytest.mark.parametrize("method", BASELINES)
def test_eval_runs_the_baseline_under_its_own_protocol(evaluated, method):
    res, work = evaluated[method]
    assert res.returncode == 0, res.stderr[-3000:]
    rec = _record(work)
    from radseg.methods import get_method
    settings = get_method(method).settings_cls.own_preset("voc20", model_version="tiny-random")
    assert (rec["method"], rec["protocol"], rec["resolution"], rec["benchmark"]) == (method, "own", "own", "voc20")
    assert rec["method_settings"] == settings.to_dict() and rec["config_hash"] == settings.config_hash()
    assert rec["weights"] == "random stand-in"
    resize = [s for s in rec["settings"]["test_dataloader"]["dataset"]["pipeline"] if s["type"] == "Resize"]
    assert [list(s["scale"]) for s in resize] == [list(settings.scale)]  # the release's resize, not RADSeg's
    assert 0.0 <= rec["metrics"]["mIoU"] <= 100.0


def test_results_shows_one_honest_row_per_baseline(evaluated, tmp_path, capsys):
    import shutil

    from test_results_table import md_rows, run_cli
    for m in BASELINES:
        shutil.copytree(evaluated[m][1], tmp_path / m)
    rc, out, err = run_cli(capsys, tmp_path)
    assert rc == 0, err
    names = [r[0] for r in md_rows(out)[2:]]
    assert any(n.startswith("naclip: tiny-random") and "†" in n for n in names), out
    assert any(n.startswith("trident: tiny-random") and "†" in n for n in names), out
    assert "random stand-in weights" in out and "subset" in out


def _segment(*args):
    from radseg.cli import main
    return _in_process(main, ["segment", *map(str, args)])


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    p = tmp_path_factory.mktemp("img") / "photo.png"
    Image.new("RGB", (40, 28), (70, 140, 200)).save(p)
    return p


@pytest.mark.parametrize("method", BASELINES)
def test_segment_runs_the_baseline_offline(method, image, tmp_path):
    res = _segment(image, "--method", method, "--model_version", "tiny-random", "--labels", "sky, tree, road",
                   "--out", tmp_path / "o")
    assert res.returncode == 0, res.stderr[-3000:]
    assert Image.open(tmp_path / "o_labels.png").size == (40, 28) and "random weights" in res.stderr


@pytest.mark.parametrize("weights, message", [
    (["clip"], "--weights clip: write MODEL=PATH"),
    (["dino=x.pth"], "method 'naclip' has no dino weights; its models: clip."),
    (["clip=/nonexistent/ViT-B-16.pt"], "--weights clip=/nonexistent/ViT-B-16.pt: no such file"),
])
def test_bad_weights_are_one_line_before_anything_loads(weights, message, image, tmp_path, monkeypatch):
    import radseg.methods.clip.sources as sources
    monkeypatch.setattr(sources, "build_clip", lambda *a, **k: pytest.fail("a model was built"))
    res = _segment(image, "--method", "naclip", "--weights", *weights, "--labels", "sky", "--out", tmp_path / "o")
    assert res.returncode == 2 and message in res.stderr and "Traceback" not in res.stderr, res.stderr
    assert len([ln for ln in res.stderr.splitlines() if ln.startswith("error:")]) == 1


def test_an_unreadable_checkpoint_and_radseg_weights_are_one_line(image, tmp_path):
    empty = tmp_path / "ViT-B-16.pt"
    empty.write_bytes(b"")
    res = _segment(image, "--method", "naclip", "--weights", f"clip={empty}", "--labels", "sky",
                   "--out", tmp_path / "o")
    assert res.returncode != 0 and "cannot read CLIP weights" in res.stderr and "Traceback" not in res.stderr, \
        res.stderr[-2000:]
    res = _segment(image, "--weights", f"clip={empty}", "--model_version", "tiny-random", "--labels", "sky")
    assert res.returncode == 2 and "--weights is a baseline's" in res.stderr


def test_weights_reach_the_settings(tmp_path):
    """``--weights clip=A dino=B sam=C`` -> Trident's ``clip_weights`` / ``dino_weights`` / ``sam_weights``."""
    from radseg.commands.preflight import weights_settings
    from radseg.methods.trident.settings import TridentSettings
    files = {k: tmp_path / f"{k}.pth" for k in ("clip", "dino", "sam")}
    for f in files.values():
        f.write_bytes(b"x")
    got = weights_settings([f"{k}={v}" for k, v in files.items()], TridentSettings, "trident")
    assert got == {f"{k}_weights": str(v) for k, v in files.items()}


def test_the_sweep_plans_a_baseline_with_its_stand_in_and_its_command_runs(data, tmp_path):
    """The sweep's --methods cells (the sweep's runner itself is tests/test_method_commands.py's, on
    the toy method): each baseline's planned eval.py command line runs as planned (here in-process)."""
    from radseg.sweep.cli import build_parser
    from radseg.sweep.plan import plan_sweep
    args = ["--work-dir", tmp_path / "w", "--data-root", data, "--models", "tiny-random", "--sam-refine", "off",
            "--datasets", "voc20", "--resolutions", "low", "--num-workers", "0"]
    runs = plan_sweep(build_parser().parse_args([str(a) for a in [*args, "--methods", "naclip", "trident"]]))
    assert [(r.method, r.resolution, r.model) for r in runs] == [("naclip", "own", "tiny-random"),
                                                                 ("trident", "own", "tiny-random")]
    cmd = runs[0].command
    assert cmd[1].endswith("eval.py") and cmd[cmd.index("--model_version") + 1] == "tiny-random"
    res = run_eval(*cmd[2:])
    assert res.returncode == 0, res.stderr[-3000:]
    rec = _record(tmp_path / "w" / "naclip" / "own" / "voc20")
    assert (rec["method"], rec["protocol"], rec["weights"]) == ("naclip", "own", "random stand-in")


@pytest.mark.parametrize("method", BASELINES)
def test_build_predictor_builds_the_baseline(method):
    import torch

    import radseg
    p = radseg.build_predictor(method, model_version="tiny-random", dataset="voc20")
    out = p.predict(torch.zeros(3, 28, 40, dtype=torch.uint8), ["sky", "tree"])
    assert out.labels.shape == (28, 40) and out.probs.shape[-2:] == (28, 40)
