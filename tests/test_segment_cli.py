"""The single-image command as a new user runs it (in-process, except the first check)."""
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from radseg import segment as seg_mod
from radseg.cli import main as radseg_main
from radseg.errors import DatasetError


def radseg_subprocess(*args, cwd, env=None):
    return subprocess.run([sys.executable, "-m", "radseg.cli", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, env=dict(os.environ, **(env or {})), timeout=300)


def run(capsys, *args):
    try:
        rc = radseg_main(["segment", *map(str, args)])
    except SystemExit as e:
        rc = e.code
    out = capsys.readouterr()
    return rc, out.out, out.err


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_example_photo_writes_overlay_and_label_map(tmp_path):
    out = radseg_subprocess("segment", "--model_version", "tiny-random", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    ov, lm = tmp_path / "chelsea_overlay.png", tmp_path / "chelsea_labels.png"
    labels = np.array(Image.open(lm))
    assert Image.open(lm).mode == "P" and labels.shape == (300, 451) and labels.max() < 4
    assert Image.open(ov).size[0] > 451  # image plus legend


def test_own_image_needs_labels_and_sam_refine_runs(in_tmp, capsys):
    img = in_tmp / "field.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (60, 80, 3), dtype=np.uint8)).save(img)
    rc, _, err = run(capsys, img, "--model_version", "tiny-random")
    assert rc == 2 and "--labels is required" in err
    rc, out, err = run(capsys, img, "--labels", "sky, grass|lawn, sheep", "--model_version", "tiny-random",
                       "--sam-refine", "--sam-ckpt", "tiny-random-sam", "--out", in_tmp / "o" / "field")
    assert rc == 0, err
    assert np.array(Image.open(in_tmp / "o" / "field_labels.png")).shape == (60, 80)
    assert "'tiny-random' and 'tiny-random-sam' have random weights (a stand-in)" in err  # one honest line
    (in_tmp / "outdir").mkdir()
    rc, _, err = run(capsys, img, "--labels", "a, b", "--model_version", "tiny-random", "--out", "outdir")
    assert rc == 0, err
    assert (in_tmp / "outdir" / "field_overlay.png").is_file()


def test_offline_first_run_is_one_short_message(in_tmp, capsys, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(in_tmp.parent / (in_tmp.name + "-th")))
    for var in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")
    monkeypatch.delenv("RADSEG_RADIO_REPO", raising=False)
    rc, out, err = run(capsys)
    assert rc == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "could not load RADIO weights: tried torch.hub 'NVlabs/RADIO:" in lines[0]
    assert "--model_version tiny-random" in lines[0] and "--radio_repo" in lines[0]
    assert "Downloading" not in err and "Traceback" not in err
    assert not list(in_tmp.iterdir())


def test_help_lists_the_model_names(capsys):
    rc, out, _ = run(capsys, "--help")
    assert rc == 0
    text = " ".join(out.split())
    assert "c-radio_v3-b" in text and "radio_v2.5-l" in text and "tiny-random" in text


def test_16_bit_images_are_scaled_not_clipped(tmp_path):
    grey = (np.arange(64 * 32, dtype=np.uint32).reshape(32, 64) * 32).astype(np.uint16)  # 0..65504
    Image.fromarray(grey).save(tmp_path / "g16.png")
    img, _ = seg_mod.load_image(str(tmp_path / "g16.png"))
    assert img.dtype == np.uint8 and img.shape == (32, 64, 3)
    assert img.min() == 0 and (img == 255).mean() < 0.01 and len(np.unique(img)) > 200  # a ramp, not clipped
    assert np.array_equal(img[..., 0], np.rint(grey / 257.0).astype(np.uint8))
    import cv2
    rgb16 = np.stack([grey, grey[::-1, ::-1], np.full_like(grey, 32768)], axis=-1)
    for name in ("c16.png", "c16.tif"):
        cv2.imwrite(str(tmp_path / name), rgb16[..., ::-1])  # OpenCV writes BGR
        img, _ = seg_mod.load_image(str(tmp_path / name))
        assert img.shape == (32, 64, 3) and abs(int(img[0, 0, 2]) - 128) <= 1, name
        assert int(img[-1, -1, 0]) >= 254 and int(img[-1, -1, 1]) <= 1, name


def test_to_uint8_ranges():
    assert seg_mod.to_uint8(np.array([0.0, 0.5, 1.0])).tolist() == [0, 128, 255]
    assert seg_mod.to_uint8(np.array([-2.0, 0.0, 2.0])).tolist() == [0, 128, 255]  # min-max
    assert seg_mod.to_uint8(np.array([0, 65535], np.int32)).tolist() == [0, 255]
    assert seg_mod.to_uint8(np.array([0, 4095, 65535], np.uint16)).tolist() == [0, 16, 255]
    assert seg_mod.to_uint8(np.array([7, 9], np.uint8)).tolist() == [7, 9]


def test_large_images_are_downscaled_or_refused(tmp_path, monkeypatch):
    path = tmp_path / "big.png"
    Image.fromarray(np.zeros((300, 400, 3), np.uint8)).save(path)
    notes = []
    img, _ = seg_mod.load_image(str(path), max_pixels=30_000, notify=notes.append)
    assert img.shape[0] * img.shape[1] <= 30_000 and abs(img.shape[1] / img.shape[0] - 4 / 3) < 0.02
    assert len(notes) == 1 and "400 x 300" in notes[0] and "downscaled" in notes[0]
    monkeypatch.setattr(seg_mod, "MAX_IMAGE_PIXELS", 100_000)
    with pytest.raises(DatasetError, match=r"400 x 300 pixels.*above radseg segment's limit"):
        seg_mod.load_image(str(path))


def test_legend_renders_accents_and_warns_without_a_cjk_font():
    from radseg import visualize as vis
    labels = np.zeros((60, 80), int)
    labels[30:] = 1
    size = 12
    accents = vis.legend_font(["café (50%)"], size)
    if vis.missing_glyphs(accents, "é"):
        pytest.skip("no installed font has 'é'")
    notes = []
    font = vis.legend_font(["猫 (50%)"], size, notify=notes.append)
    if vis.missing_glyphs(font, "猫"):
        assert len(notes) == 1 and "fonts-noto-cjk" in notes[0] and "猫" in notes[0]
    else:
        assert not notes
    img = vis.overlay(np.zeros((60, 80, 3), np.uint8), labels, ["café", "猫"], notify=notes.append)
    assert img.size[0] > 80
