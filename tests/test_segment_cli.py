"""The single-image command as a new user runs it."""
import os
import subprocess
import sys

import numpy as np
from PIL import Image


def radseg(*args, cwd, env=None):
    return subprocess.run([sys.executable, "-m", "radseg.cli", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, env=dict(os.environ, **(env or {})), timeout=300)


def test_example_photo_writes_overlay_and_label_map(tmp_path):
    out = radseg("segment", "--model_version", "tiny-random", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    ov, lm = tmp_path / "chelsea_overlay.png", tmp_path / "chelsea_labels.png"
    labels = np.array(Image.open(lm))
    assert Image.open(lm).mode == "P" and labels.shape == (300, 451) and labels.max() < 4
    assert Image.open(ov).size[0] > 451  # image plus legend


def test_own_image_needs_labels_and_sam_refine_runs(tmp_path):
    img = tmp_path / "field.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (60, 80, 3), dtype=np.uint8)).save(img)
    bad = radseg("segment", img, "--model_version", "tiny-random", cwd=tmp_path)
    assert bad.returncode == 2 and "--labels is required" in bad.stderr
    ok = radseg("segment", img, "--labels", "sky, grass|lawn, sheep", "--model_version", "tiny-random",
                "--sam-refine", "--sam-ckpt", "tiny-random-sam", "--out", tmp_path / "o" / "field", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert np.array(Image.open(tmp_path / "o" / "field_labels.png")).shape == (60, 80)


def test_missing_image_and_offline_weights(tmp_path):
    out = radseg("segment", tmp_path / "nope.jpg", "--labels", "a, b", "--model_version", "tiny-random",
                 cwd=tmp_path)
    assert out.returncode == 2 and "does not exist" in out.stderr
    env = {"TORCH_HOME": str(tmp_path / "th"), "https_proxy": "http://127.0.0.1:9",
           "HTTPS_PROXY": "http://127.0.0.1:9", "RADSEG_RADIO_REPO": ""}
    out = radseg("segment", cwd=tmp_path, env=env)
    assert out.returncode == 2 and "could not load RADIO weights" in out.stderr
    assert "Traceback" not in out.stderr


def test_segment_mistakes_and_out_folder(tmp_path):
    img = tmp_path / "x.png"
    Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(img)
    cases = [(("--labels", ""), "--labels"), (("--labels", "a, b", "--slide-stride", "0"), "slide_stride=0"),
             (("--labels", "a, b", "--scale", "0", "0"), "--scale 0 0"),
             (("--labels", "a, b", "--device", "cuda:0"), "no CUDA GPU")]
    for extra, msg in cases:
        if "cuda" in extra[-1]:
            import torch
            if torch.cuda.is_available():
                continue
        out = radseg("segment", img, "--model_version", "tiny-random", *extra, cwd=tmp_path)
        assert out.returncode == 2 and msg in out.stderr, (extra, out.stderr)
        assert "Traceback" not in out.stderr
    (tmp_path / "outdir").mkdir()
    ok = radseg("segment", img, "--labels", "a, b", "--model_version", "tiny-random", "--out", "outdir",
                "--sam_refine", "--sam_ckpt", "tiny-random-sam", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "outdir" / "x_overlay.png").is_file()
