"""The command layer (issue 23 item 1) and two edges of `radseg segment` (issue 24 section 1).

Every case runs through the real entry point (``radseg.cli.main``), in-process. The model
build is replaced by a function that fails, so a check that must happen before the model
loads is proven to happen before it."""
import json

import numpy as np
import pytest
from PIL import Image

import radseg.commands.segment as segment_cmd
from radseg import cli
from test_segment_cli import run  # radseg segment in-process: (rc, stdout, stderr)

FAST = ["--model_version", "tiny-random", "--scale", "64", "48", "--slide-crop", "32", "--slide-stride", "16",
        "--labels", "sky, dog", "--num-workers", "0"]


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    d = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    for name in ("a.png", "b.png"):
        Image.fromarray(rng.integers(0, 256, (32, 40, 3), dtype=np.uint8)).save(d / name)
    return d


@pytest.fixture
def no_model(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("the model was built before the check")
    monkeypatch.setattr(segment_cmd, "build_predictor", refuse)


def test_every_command_is_registered_in_one_table_and_has_a_parser():
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert list(sub.choices) == list(cli.COMMANDS)
    assert {"segment", "eval", "data", "results", "report", "demo", "bench", "models", "export"} <= set(cli.COMMANDS)


def test_a_command_module_with_add_arguments_and_main_is_added_by_one_table_line(monkeypatch, tmp_path):
    mod = tmp_path / "toy_doctor.py"
    mod.write_text('"""Check the set-up."""\n'
                   "def add_arguments(p):\n    p.add_argument('--for', dest='job', default='paper')\n"
                   "def main(args):\n    print('doctor for', args.job)\n    return 0\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(cli.COMMANDS, "doctor", ("toy_doctor", "check the set-up"))
    assert cli.main(["doctor", "--for", "mess"]) == 0


def test_folder_mode_probes_the_output_folder_before_the_model_loads(photos, capsys, no_model):
    # /proc: os.access says writable for root, but no file can be created there
    rc, _, err = run(capsys, photos, "--out", "/proc/radseg-out", *FAST)
    assert rc == 2 and "cannot write in '/proc'" in err and "Traceback" not in err, err


def test_single_image_mode_uses_the_same_probe(photos, capsys, no_model):
    rc, _, err = run(capsys, photos / "a.png", "--out", "/proc/radseg-out/x", *FAST)
    assert rc == 2 and "cannot write in '/proc'" in err and "Traceback" not in err, err


def test_missing_list_entries_are_reported_before_the_start_line(photos, tmp_path, capsys):
    lst = tmp_path / "todo.txt"
    lst.write_text(f"{photos / 'a.png'}\nnope.png\n{photos / 'b.png'}\n")
    out = tmp_path / "seg"
    rc, _, err = run(capsys, "--list", lst, "--out", out, *FAST)
    assert rc == 1, err
    missing = err.index(f"--list entry '{tmp_path / 'nope.png'}' does not exist")
    assert missing < err.index("segmenting 3 image(s)"), err
    assert err.count("nope.png' does not exist") == 1, err  # reported once, not again by the run
    manifest = [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()[1:]]
    assert [e["status"] for e in manifest] == ["done", "failed", "done"]
