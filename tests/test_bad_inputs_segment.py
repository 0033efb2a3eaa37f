"""Catalogue: every bad input of `radseg segment` and `radseg results` through the real entry point.

Each case runs ``radseg.cli.main`` in an empty working folder and must exit non-zero with exactly
one ``error: ...`` line on stderr naming the problem, no traceback, and no file written (neither
in the working folder nor next to the inputs). Cases fail before any model is loaded.
"""
import json
import os

import numpy as np
import pytest
from PIL import Image

from radseg import segment as seg_mod
from radseg.cli import main as radseg_main

TINY = ("--model_version", "tiny-random")


def _png(path, h=60, w=80):
    Image.fromarray(np.zeros((h, w, 3), np.uint8)).save(path)
    return path


def _record(path, obj):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))


def _good_record(path):
    _record(path, {"schema": "radseg.result/1", "status": "complete", "benchmark": "voc20",
                   "resolution": "low_res", "model_version": "tiny-random", "sam_refine": False,
                   "metrics": {"aAcc": 1.0, "mIoU": 2.0, "mAcc": 3.0}})


# id -> (argv builder given the inputs folder, expected text in the error line)
CASES = {
    # class names (--labels)
    "labels-empty": (lambda d: ["segment", d / "img.png", "--labels", "", *TINY], "empty class name"),
    "labels-empty-entry": (lambda d: ["segment", d / "img.png", "--labels", "sky, , sea", *TINY], "empty class name"),
    "labels-duplicate": (lambda d: ["segment", d / "img.png", "--labels", "sky, Sky ", *TINY],
                         "'Sky' is also class 1"),
    "labels-duplicate-synonym": (lambda d: ["segment", d / "img.png", "--labels", "grass|GRASS, sky", *TINY],
                                 "appears twice in one class"),
    "labels-pipe-only": (lambda d: ["segment", d / "img.png", "--labels", "sky, |", *TINY], "with no name"),
    "labels-empty-synonym": (lambda d: ["segment", d / "img.png", "--labels", "sky|, sea", *TINY],
                             "empty synonym"),
    "labels-no-letters": (lambda d: ["segment", d / "img.png", "--labels", "sky, ???", *TINY], "is not a name"),
    "labels-too-many": (lambda d: ["segment", d / "img.png", "--labels", ", ".join(f"c{i}" for i in range(300)),
                                   *TINY], "at most 256"),
    "labels-missing": (lambda d: ["segment", d / "img.png", *TINY], "--labels is required"),
    # the image
    "image-folder-without-images": (lambda d: ["segment", d / "ro", "--labels", "a, b", *TINY],
                                    "holds no image files (add --recursive"),
    "images-pattern-matches-nothing": (lambda d: ["segment", str(d / "*.webp"), "--labels", "a, b", *TINY],
                                       "matches no file"),
    "images-list-missing": (lambda d: ["segment", "--list", d / "nope.txt", "--labels", "a, b", *TINY],
                            "--list '"),
    "images-same-output-twice": (lambda d: ["segment", d / "img.png", d / "sub" / "img.png", "--labels", "a, b",
                                            *TINY], "would write the same outputs"),
    "images-batch-size-zero": (lambda d: ["segment", d / "img.png", d / "full.jpg", "--labels", "a, b",
                                          "--batch-size", "0", *TINY], "--batch-size must be >= 1"),
    "images-out-is-a-file": (lambda d: ["segment", d / "img.png", d / "full.jpg", "--labels", "a, b",
                                        "--out", d / "notes.jpg", *TINY], "is a file, not a folder"),
    "image-missing": (lambda d: ["segment", d / "nope.jpg", "--labels", "a, b", *TINY], "does not exist"),
    "image-corrupt": (lambda d: ["segment", d / "corrupt.png", "--labels", "a, b", *TINY], "cannot read image"),
    "image-truncated-jpeg": (lambda d: ["segment", d / "half.jpg", "--labels", "a, b", *TINY], "truncated"),
    "image-text-file": (lambda d: ["segment", d / "notes.jpg", "--labels", "a, b", *TINY], "cannot read image"),
    "image-too-large": (lambda d: ["segment", d / "img.png", "--labels", "a, b", *TINY],
                        "above radseg segment's limit"),
    "image-url": (lambda d: ["segment", "https://example.com/cat.jpg", "--labels", "a, b", *TINY],
                  "is a URL; radseg does not fetch images"),
    # outputs
    "out-under-a-file": (lambda d: ["segment", d / "img.png", "--labels", "a, b", "--out", d / "notes.jpg" / "x",
                                    *TINY], "is a file, not a folder"),
    "out-output-is-a-folder": (lambda d: ["segment", d / "img.png", "--labels", "a, b", "--out", d / "o", *TINY],
                               "o_overlay.png' is a folder"),
    "out-read-only-folder": (lambda d: ["segment", d / "img.png", "--labels", "a, b", "--out", d / "ro" / "x",
                                        *TINY], "cannot write in"),
    # settings
    "device-cuda-without-gpu": (lambda d: ["segment", d / "img.png", "--labels", "a, b", "--device", "cuda", *TINY],
                                "no CUDA GPU"),
    "device-unknown": (lambda d: ["segment", d / "img.png", "--labels", "a, b", "--device", "tpu", *TINY],
                       "use cpu or cuda"),
    "scale-zero": (lambda d: ["segment", d / "img.png", "--labels", "a, b", "--scale", "0", "0", *TINY],
                   "scale must be two positive integers"),
    "slide-stride-zero": (lambda d: ["segment", d / "img.png", "--labels", "a, b", "--slide-stride", "0", *TINY],
                          "slide_stride must be between 1 and slide_crop=336 (got 0)"),
    "coarse-thresh-range": (lambda d: ["segment", d / "img.png", "--labels", "a, b", "--coarse-thresh", "2",
                                       *TINY], "coarse_thresh must be between 0 and 1 (got 2.0)"),
    "plugin-missing": (lambda d: ["segment", d / "img.png", "--labels", "a, b", "--plugin", "no_such_plugin_mod",
                                  *TINY], "cannot import plugin module 'no_such_plugin_mod'"),
    # models and the supply chain
    "model-unknown": (lambda d: ["segment", d / "img.png", "--labels", "a, b", "--model_version", "radio_v9"],
                      "unknown --model_version 'radio_v9'"),
    "model-checkpoint-missing": (lambda d: ["segment", d / "img.png", "--labels", "a, b", "--model_version",
                                            d / "gone.pth.tar"], "does not exist"),
    "hf-without-commit": (lambda d: ["segment", d / "img.png", "--labels", "a, b", "--radio_source", "hf"],
                          "needs a pinned commit"),
    "hf-branch": (lambda d: ["segment", d / "img.png", "--labels", "a, b", "--radio_source", "hf",
                             "--radio_revision", "main"], "'main' is not a 40-hex commit"),
    "hub-tag": (lambda d: ["segment", d / "img.png", "--labels", "a, b", "--radio_revision", "v2.5"],
                "'v2.5' is not a 40-hex commit"),
    "offline-default-model": (lambda d: ["segment"], "--model_version tiny-random"),
    "sam-ckpt-missing": (lambda d: ["segment", d / "img.png", "--labels", "a, b", "--sam-refine", "--sam-ckpt",
                                    d / "none" / "sam.pth", *TINY], "does not exist"),
    "sam-ckpt-corrupt": (lambda d: ["segment", d / "img.png", "--labels", "a, b", "--sam-refine", "--sam-ckpt",
                                    d / "sam_vit_h_4b8939.pth", *TINY], "is corrupt or incomplete"),
    "sam-missing-with-stand-in": (lambda d: ["segment", d / "img.png", "--labels", "a, b", "--sam-refine", *TINY],
                                  "pass --sam_ckpt tiny-random-sam"),
    "sam-ckpt-not-official": (lambda d: ["segment", d / "img.png", "--labels", "a, b", "--sam-refine",
                                         "--sam-ckpt", d / "my_sam.pth", *TINY], "not the official SAM vit_h"),
    # radseg results
    "results-record-is-a-list": (lambda d: ["results", d / "runs_list"], "it holds a JSON list"),
    "results-record-wrong-types": (lambda d: ["results", d / "runs_types"], "'metrics.mIoU' is \"high\""),
    "results-binary-reference": (lambda d: ["results", d / "runs_good", "--reference", d / "ref.yaml"],
                                 "is a binary file"),
    "results-reference-not-utf8": (lambda d: ["results", d / "runs_good", "--reference", d / "ref.csv"],
                                   "not UTF-8 text"),
}


def _inputs(d):
    _png(d / "img.png")
    (d / "sub").mkdir()
    _png(d / "sub" / "img.png")
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 200, 3), dtype=np.uint8)).save(d / "full.jpg")
    data = (d / "full.jpg").read_bytes()
    (d / "half.jpg").write_bytes(data[: len(data) // 2])
    (d / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    (d / "notes.jpg").write_text("not an image")
    (d / "o_overlay.png").mkdir()
    (d / "ro").mkdir()
    os.chmod(d / "ro", 0o500)
    (d / "sam_vit_h_4b8939.pth").write_bytes(b"PK\x03\x04 truncated download")
    (d / "my_sam.pth").write_bytes(b"PK\x03\x04 some other weights")
    _record(d / "runs_list" / "result.json", [1, 2, 3])
    _record(d / "runs_types" / "result.json", {"schema": "radseg.result/1", "status": "complete",
                                               "metrics": {"aAcc": 1, "mIoU": "high", "mAcc": 3}})
    _good_record(d / "runs_good" / "a" / "result.json")
    (d / "ref.yaml").write_bytes(b"\x00\x01\x02\x03binary")
    (d / "ref.csv").write_bytes("row,low_res/voc20\ntiny-random,4\xe9\n".encode("latin-1"))


def _listing(root):
    return sorted((str(p.relative_to(root)), p.is_dir()) for p in root.rglob("*"))


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_gives_one_error_line(case, tmp_path, monkeypatch, capsys):
    import torch
    if case == "device-cuda-without-gpu" and torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    if case == "out-read-only-folder" and os.geteuid() == 0:
        pytest.skip("root may write in a read-only folder")
    inputs, cwd = tmp_path / "in", tmp_path / "cwd"
    inputs.mkdir()
    cwd.mkdir()
    _inputs(inputs)
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    for var in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")
    for var in ("RADSEG_RADIO_REPO", "RADSEG_RADIO_SOURCE", "RADSEG_ALLOW_UNPINNED", "RADSEG_SAM_CKPT"):
        monkeypatch.delenv(var, raising=False)
    if case == "image-too-large":
        monkeypatch.setattr(seg_mod, "MAX_IMAGE_PIXELS", 1000)
    before = _listing(inputs)
    build, expected = CASES[case]
    argv = [str(a) for a in build(inputs)]
    try:
        rc = radseg_main(argv)
    except SystemExit as e:  # argparse
        rc = e.code
    out = capsys.readouterr()
    os.chmod(inputs / "ro", 0o700)
    lines = out.err.strip().splitlines()
    assert rc not in (0, None), (case, out.err)
    assert "Traceback" not in out.err + out.out
    assert len(lines) == 1 and lines[0].startswith("error: "), (case, out.err)
    assert expected in lines[0], (case, lines[0])
    assert not list(cwd.iterdir()), case  # nothing written where the user stands
    assert _listing(inputs) == before, case  # nor next to the inputs
