"""A method is a first-class thing (issue 25 section 1), through the real entry points.

A toy fourth method (tests/toy_method_plugin.py: its own settings dataclass, own-protocol
PRESETS and a seeded linear head) is registered from a plugin module and evaluated end to end
through eval.py (own and radseg protocols) and `radseg segment`, and built through
``radseg.build_predictor``; its records carry method, protocol, method_settings and
config_hash, and `radseg results` shows its row. Bad inputs are one line before anything loads."""
import json
import sys
from pathlib import Path

import pytest
import torch

from datagen import make_dataset
from test_eval_e2e import ROOT, run_eval
from test_prepare_then_eval import _in_process

PLUGIN = ["--plugin", "toy_method_plugin"]


@pytest.fixture(scope="module")
def toy():
    """The plugin imported once; unregistered when the module's tests are done."""
    from radseg.methods.registry import METHODS
    from radseg.models import registry as sources
    yield
    METHODS.pop("toylinear", None)
    sources._PLUGINS_LOADED.discard("toy_method_plugin")
    sys.modules.pop("toy_method_plugin", None)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("data")
    make_dataset("voc20", d, n=2)
    return d


def _args(data, work, *extra):
    return ["--config", ROOT / "configs_mmseg" / "low_res" / "voc20.py", "--data-root", data, "--work-dir", work,
            "--num-workers", "0", *extra]


def _record(work):
    return json.loads(sorted(Path(work).rglob("result*.json"))[-1].read_text())


@pytest.fixture(scope="module")
def own_run(toy, data, tmp_path_factory):
    import toy_method_plugin  # noqa: F401  (counted below: the predictor is built once)
    built = []
    real = toy_method_plugin.ToyLinearPredictor.__init__

    def counting(self, settings):
        built.append(settings)
        real(self, settings)
    toy_method_plugin.ToyLinearPredictor.__init__ = counting
    work = tmp_path_factory.mktemp("own")
    try:
        res = run_eval(*_args(data, work, *PLUGIN, "--method", "toylinear"))
    finally:
        toy_method_plugin.ToyLinearPredictor.__init__ = real
    return res, work, built


def test_a_plugin_method_evaluates_under_its_own_protocol(own_run):
    res, work, built = own_run
    assert res.returncode == 0, res.stderr
    assert len(built) == 1  # the runner got the built instance: no second load
    rec = _record(work)
    from toy_method_plugin import ToyLinearSettings
    settings = ToyLinearSettings.own_preset("voc20")
    assert (rec["method"], rec["protocol"], rec["resolution"]) == ("toylinear", "own", "own")
    assert rec["method_settings"] == settings.to_dict() and rec["method_settings"]["scale"] == [96, 40]
    assert rec["config_hash"] == settings.config_hash() and rec["radseg_config"] is None
    assert rec["weights"] == "random stand-in" and rec["benchmark"] == "voc20"
    resize = [s for s in rec["settings"]["test_dataloader"]["dataset"]["pipeline"] if s["type"] == "Resize"]
    assert [list(s["scale"]) for s in resize] == [[96, 40]]  # the own protocol's resize, not RADSeg's
    assert "mIoU" in rec["metrics"]


def test_radseg_results_shows_the_method_row(own_run, capsys):
    from test_results_table import md_rows, run_cli
    rc, out, err = run_cli(capsys, own_run[1])
    assert rc == 0, err
    rows = md_rows(out)
    assert rows[0][0] == "Model" and any(h.startswith("own") for h in rows[0])
    assert any(r[0].startswith("toylinear: tiny-random") for r in rows[2:]), out


def test_the_radseg_protocol_takes_radsegs_preset(toy, data, tmp_path):
    res = run_eval(*_args(data, tmp_path, *PLUGIN, "--method", "toylinear", "--protocol", "radseg"))
    assert res.returncode == 0, res.stderr
    rec = _record(tmp_path)
    from radseg.config import RADSegConfig
    pre = RADSegConfig.preset("voc20", "low_res")
    assert (rec["method"], rec["protocol"], rec["resolution"]) == ("toylinear", "radseg", "low_res")
    assert (rec["method_settings"]["slide_crop"], rec["method_settings"]["slide_stride"]) == \
        (pre.slide_crop, pre.slide_stride)


def test_a_radseg_record_gains_only_the_method_fields(data, tmp_path):
    res = run_eval(*_args(data, tmp_path, "--model_version", "tiny-random"))
    assert res.returncode == 0, res.stderr
    rec = _record(tmp_path)
    assert (rec["method"], rec["protocol"], rec["resolution"]) == ("radseg", "radseg", "low_res")
    assert rec["method_settings"] == rec["radseg_config"] and rec["radseg_config"]["model_version"] == "tiny-random"
    from radseg.results.provenance import config_hash
    assert rec["config_hash"] == config_hash(rec["radseg_config"])


@pytest.mark.parametrize("extra, message", [
    (["--method", "nosuch"], "unknown method 'nosuch'. Known: radseg"),
    (["--method", "proxyclip"], "method 'proxyclip' is not yet available"),
    (["--method", "toylinear", "--sam_refine", "True"], "--sam_refine is not a setting of method 'toylinear'; "
                                                          "its settings: model_version, scale"),
    (["--protocol", "own"], "--protocol own is a baseline's own settings"),
    (["--method", "toylinear", "--cfg-options", "model.slide_crop=224"], "model.* keys are RADSeg's settings"),
])
def test_bad_method_inputs_are_one_line_before_anything_loads(toy, data, tmp_path, extra, message, monkeypatch):
    import radseg.mmseg.evaluate as ev
    monkeypatch.setattr(ev, "_build_predictor", lambda plan: pytest.fail("a model was built"))
    res = run_eval(*_args(data, tmp_path, *PLUGIN, *extra))
    assert res.returncode == 2 and message in res.stderr and "Traceback" not in res.stderr, res.stderr
    assert len([ln for ln in res.stderr.splitlines() if ln.startswith("error:")]) == 1


def _segment(*args):
    from radseg.cli import main
    return _in_process(main, ["segment", *map(str, args)])


def test_segment_runs_the_method(toy, tmp_path):
    from PIL import Image
    img = tmp_path / "p.png"
    Image.new("RGB", (40, 30), (90, 160, 40)).save(img)
    res = _segment(img, "--labels", "sky, grass", "--out", tmp_path / "p", *PLUGIN, "--method", "toylinear")
    assert res.returncode == 0, res.stderr
    labels = Image.open(tmp_path / "p_labels.png")
    assert labels.size == (40, 30) and "random weights" in res.stderr
    bad = _segment(img, "--labels", "sky, grass", *PLUGIN, "--method", "toylinear", "--sam-refine")
    assert bad.returncode == 2 and "--sam_refine is not a setting of method 'toylinear'" in bad.stderr


def test_build_predictor_builds_any_registered_method(toy):
    import radseg
    from radseg.errors import ConfigError
    from radseg.models import load_plugins
    load_plugins(["toy_method_plugin"])
    p = radseg.build_predictor("toylinear", scale=(32, 16), seed=3)
    out = p.predict(torch.zeros(3, 20, 30, dtype=torch.uint8), ["a", "b", "c"])
    assert out.labels.shape == (20, 30) and out.probs.shape == (3, 20, 30) and p.settings.seed == 3
    with pytest.raises(ConfigError, match="unknown toylinear setting"):
        radseg.build_predictor("toylinear", sam_refine=True)
    own = radseg.build_predictor("toylinear", dataset="voc20")
    assert own.settings.scale == (96, 40)


def _sweep_args(work, data, *extra):
    return [str(a) for a in ["--work-dir", work, "--data-root", data, "--models", "tiny-random", "--sam-refine",
                             "off", "--datasets", "voc20", "--resolutions", "low", "--num-workers", "0", *PLUGIN,
                             *extra]]


def test_the_sweep_plans_methods_as_a_grid_axis_and_keeps_the_default_grid(toy, data, tmp_path):
    from radseg.sweep.cli import build_parser
    from radseg.sweep.plan import plan_sweep
    base = plan_sweep(build_parser().parse_args(_sweep_args(tmp_path, data, "--resolutions", "low", "mid")))
    assert [r.method for r in base] == ["radseg", "radseg"] and all("--method" not in r.command for r in base)
    both = plan_sweep(build_parser().parse_args(_sweep_args(tmp_path, data, "--resolutions", "low", "mid",
                                                            "--methods", "radseg", "toylinear")))
    assert [r.command for r in both[:2]] == [r.command for r in base]  # the RADSeg cells are unchanged
    toy_runs = both[2:]
    assert [(r.method, r.resolution, r.dataset) for r in toy_runs] == [("toylinear", "own", "voc20")]
    assert toy_runs[0].run_dir == tmp_path / "toylinear" / "own" / "voc20"
    cmd = toy_runs[0].command
    assert cmd[cmd.index("--method") + 1] == "toylinear" and "--protocol" in cmd
    assert cmd[cmd.index("--model_version") + 1] == "tiny-random"  # --models tiny-random: every method's stand-in
    real = plan_sweep(build_parser().parse_args(_sweep_args(tmp_path, data, "--models", "c-radio_v3-b",
                                                            "--methods", "toylinear")))
    assert "--model_version" not in real[-1].command  # otherwise the release's own weights (its default)
    from radseg.errors import ConfigError
    with pytest.raises(ConfigError, match="unknown method 'nosuch'"):
        plan_sweep(build_parser().parse_args(_sweep_args(tmp_path, data, "--methods", "nosuch")))


def test_a_sweep_over_a_plugin_method_runs_and_resumes(toy, data, tmp_path, monkeypatch):
    from test_sweep import sweep
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent) + ":" + __import__("os").environ.get("PYTHONPATH", ""))
    first = sweep(*_sweep_args(tmp_path / "w", data, "--methods", "toylinear"), check_rc=0)
    rec = _record(tmp_path / "w" / "toylinear" / "own" / "voc20")
    assert (rec["method"], rec["protocol"], rec["resolution"]) == ("toylinear", "own", "own"), first.stdout
    again = sweep(*_sweep_args(tmp_path / "w", data, "--methods", "toylinear"), check_rc=0)
    assert "skip" in (again.stdout + again.stderr).lower()
