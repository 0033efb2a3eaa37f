"""Issue 5 end to end: fake raw downloads -> radseg data prepare -> verify -> eval.py."""
import json
from pathlib import Path

import numpy as np
import pytest

from test_data_prepare import make_context_raw, make_voc_raw, write_jpg, write_png

ROOT = Path(__file__).resolve().parents[1]


class Result:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def _in_process(fn, argv):
    """Run an entry point in this process (as `radseg ...` / eval.py would), capturing its output."""
    import contextlib
    import io
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = fn([str(a) for a in argv])
        except SystemExit as e:
            rc = e.code
    return Result(rc or 0, out.getvalue(), err.getvalue())


def cli(*args):
    from radseg.cli import main
    return _in_process(main, args)


def evaluate(config, data, work):
    from radseg.cli import run_eval_main
    return _in_process(run_eval_main, ["--config", ROOT / "configs_mmseg" / config, "--model_version",
                                       "tiny-random", "--data-root", data, "--work-dir", work, "--num-workers", "0"])


def make_coco_raw(base):
    rng = np.random.default_rng(1)
    used = [v for v in range(182) if v not in (11, 25, 28, 29, 44, 65, 67, 68, 70, 82, 90)]
    for stem in ("000000000139", "000000000285"):
        arr = rng.choice(used + [255], size=(12, 16)).astype(np.uint8)
        write_jpg(base / "images" / "val2017" / f"{stem}.jpg", 16, 12)
        write_png(base / "annotations" / "val2017" / f"{stem}.png", arr)


@pytest.mark.parametrize("key,config,n_cls", [
    ("voc21", "low_res/voc21.py", 21),
    ("voc20", "low_res/voc20.py", 20),
    ("context60", "low_res/context60.py", 60),
    ("context59", "low_res/context59.py", 59),
    ("coco_object", "low_res/coco_object.py", 81),
    ("coco_stuff164k", "low_res/coco_stuff164k.py", 171),
])
def test_prepare_verify_eval(key, config, n_cls, tmp_path):
    raw = tmp_path / "raw"
    data = tmp_path / "data"
    if key.startswith("voc"):
        raw_dir = make_voc_raw(raw)
    elif key.startswith("context"):
        raw_dir = make_context_raw(raw)
    else:
        make_coco_raw(raw)
        raw_dir = raw
    prep = cli("data", "prepare", key, "--raw", raw_dir, "--out", data)
    assert prep.returncode == 0, prep.stderr
    again = cli("data", "prepare", key, "--raw", raw_dir, "--out", data)
    assert again.returncode == 0, again.stderr
    ver = cli("data", "verify", key, "--data-dir", data)
    assert ver.returncode == 0, ver.stdout + ver.stderr
    out = evaluate(config, data, tmp_path / "w")
    assert out.returncode == 0, out.stderr[-3000:]
    rec = json.loads((tmp_path / "w" / "result.json").read_text())
    assert rec["benchmark"] == key and len(rec["per_class"]) == n_cls
    assert 0 <= rec["metrics"]["mIoU"] <= 100
