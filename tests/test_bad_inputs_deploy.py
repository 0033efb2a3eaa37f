"""Catalogue: bad inputs of `radseg export onnx`, `radseg segment --backend onnxruntime` and
`radseg.deploy.load_onnx_predictor`, through the real entry points.

Each case must exit non-zero with exactly one ``error: ...`` line naming the problem, no
traceback, before any model or ONNX session is loaded (the export folders here are fakes: a
manifest and empty graph files, so anything that got as far as loading a graph would fail
differently).
"""
import json
import sys

import numpy as np
import pytest
from PIL import Image

from radseg.cli import main as radseg_main

ORT = ("--backend", "onnxruntime")


def _fake_export(d, crop=336, stride=112, sam=False, files=True, version=1, sha=None):
    from radseg.config import RADSegConfig
    from radseg.deploy.export import FORMAT, MANIFEST
    d.mkdir(parents=True)
    parts = ["backbone", "head_mlp"] + (["sam_backbone", "sam_feat_mlp", "sam_neck", "sam_prompt_encoder",
                                         "sam_mask_decoder"] if sam else [])
    cfg = RADSegConfig(model_version="tiny-random", slide_crop=crop, slide_stride=stride)
    manifest = {"format": FORMAT, "format_version": version, "model_version": "tiny-random", "preset": None,
                "patch_size": 16, "size": None, "sam": "tiny-random-sam" if sam else None,
                "settings": {"slide_crop": crop, "slide_stride": stride, "scra_scaling": 10.0, "use_scra": True},
                "config": cfg.to_dict(), "parts": {p: {"file": f"{p}.onnx", **({"sha256": sha[p]} if p in (sha or {})
                                                                                     else {})} for p in parts},
                "text": {"file": "text_embeddings.npz", "names": ["sky", "sea"]}}
    (d / MANIFEST).write_text(json.dumps(manifest))
    if files:
        for p in parts:
            (d / f"{p}.onnx").write_bytes(b"")
    np.savez(d / "text_embeddings.npz", names=np.array(["sky", "sea"]), embeddings=np.zeros((2, 48), np.float32))
    return d


def _segment(d, *extra):
    return ["segment", d / "img.png", "--labels", "sky, sea", *ORT, "--model-dir", d / "exp", *extra]


CASES = {
    "segment-no-model-dir": (lambda d: ["segment", d / "img.png", "--labels", "sky", *ORT],
                             "--backend onnxruntime needs --model-dir"),
    "segment-model-dir-without-backend": (lambda d: ["segment", d / "img.png", "--labels", "sky", "--model-dir",
                                                     d / "exp"], "add --backend onnxruntime"),
    "model-dir-missing": (lambda d: _segment(d)[:-1] + [d / "gone"], "does not exist"),
    "model-dir-not-an-export": (lambda d: _segment(d)[:-1] + [d / "empty"], "is not a radseg ONNX export"),
    "model-dir-a-file": (lambda d: _segment(d)[:-1] + [d / "img.png"], "is a file, not an export folder"),
    "manifest-other-format": (lambda d: _segment(d)[:-1] + [d / "other"], "format is not 'radseg-onnx'"),
    "manifest-not-json": (lambda d: _segment(d)[:-1] + [d / "garbled"], "cannot be read as an export manifest"),
    "export-incomplete": (lambda d: _segment(d)[:-1] + [d / "incomplete"], "lacks backbone.onnx"),
    # format 2 holds each graph's SHA-256: a truncated or corrupt graph is named before any session exists
    "export-corrupt-graph": (lambda d: _segment(d)[:-1] + [d / "corrupt"], "backbone.onnx' is truncated or corrupt"),
    "export-newer-format": (lambda d: _segment(d)[:-1] + [d / "newer"], "written by a newer radseg"),
    "export-other-crop": (lambda d: _segment(d, "--slide-crop", "224"), "slide_crop=224 (export: 336)"),
    "export-other-stride": (lambda d: _segment(d, "--slide-stride", "224"), "slide_stride=224 (export: 112)"),
    "export-without-sam": (lambda d: _segment(d, "--sam-refine"), "has no SAM graphs"),
    "export-other-model": (lambda d: _segment(d, "--model_version", "c-radio_v3-b"), "holds tiny-random"),
    "export-fast-mode": (lambda d: _segment(d, "--fast"), "fast mode is not available"),
    "class-not-exported": (lambda d: ["segment", d / "img.png", "--labels", "sky, cat", *ORT, "--model-dir",
                                      d / "exp"], "'cat' has no text embedding"),
    "missing-extra-segment": (lambda d: _segment(d), "needs the 'deploy' extra"),
    "missing-extra-export": (lambda d: ["export", "onnx", "--model_version", "tiny-random", "--preset", "voc_mid",
                                        "--out", d / "new"], "needs the 'deploy' extra"),
    "export-unknown-preset": (lambda d: ["export", "onnx", "--model_version", "tiny-random", "--preset", "voc_max",
                                         "--out", d / "new"], "unknown preset 'voc_max'"),
    "export-no-classes": (lambda d: ["export", "onnx", "--model_version", "tiny-random", "--out", d / "new"],
                          "name the classes to embed"),
    "export-out-not-empty": (lambda d: ["export", "onnx", "--model_version", "tiny-random", "--preset", "voc_mid",
                                        "--out", d / "exp"], "exists and is not empty"),
    "export-single-pass-no-size": (lambda d: ["export", "onnx", "--model_version", "tiny-random", "--slide-crop",
                                              "0", "--classes", "a, b", "--out", d / "new"], "needs the input size"),
    "export-unknown-model": (lambda d: ["export", "onnx", "--model_version", "radio_v9", "--preset", "voc_mid",
                                        "--out", d / "new"], "unknown --model_version 'radio_v9'"),
}


def _inputs(d):
    Image.fromarray(np.zeros((40, 60, 3), np.uint8)).save(d / "img.png")
    _fake_export(d / "exp")
    (d / "empty").mkdir()
    _fake_export(d / "incomplete", files=False)
    _fake_export(d / "corrupt", version=2, sha={"backbone": "0" * 64})
    _fake_export(d / "newer", version=3)
    (d / "other").mkdir()
    (d / "other" / "radseg_onnx.json").write_text(json.dumps({"format": "something-else"}))
    (d / "garbled").mkdir()
    (d / "garbled" / "radseg_onnx.json").write_text("{not json")


def _listing(root):
    return sorted((str(p.relative_to(root)), p.is_dir()) for p in root.rglob("*"))


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_deploy_input_gives_one_error_line(case, tmp_path, monkeypatch, capsys):
    inputs, cwd = tmp_path / "in", tmp_path / "cwd"
    inputs.mkdir()
    cwd.mkdir()
    _inputs(inputs)
    monkeypatch.chdir(cwd)
    if case.startswith("missing-extra"):
        monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime -> ImportError
    before = _listing(inputs)
    build, expected = CASES[case]
    try:
        rc = radseg_main([str(a) for a in build(inputs)])
    except SystemExit as e:  # argparse
        rc = e.code
    out = capsys.readouterr()
    lines = out.err.strip().splitlines()
    assert rc not in (0, None), (case, out.err)
    assert "Traceback" not in out.err + out.out
    assert len(lines) == 1 and lines[0].startswith("error: "), (case, out.err)
    assert expected in lines[0], (case, lines[0])
    assert not list(cwd.iterdir()), case
    assert _listing(inputs) == before, case


def test_load_onnx_predictor_checks_before_loading(tmp_path):
    from radseg.deploy.onnx_predictor import load_onnx_predictor
    from radseg.errors import ConfigError
    _fake_export(tmp_path / "exp")
    with pytest.raises(ConfigError, match="not a radseg ONNX export"):
        load_onnx_predictor(tmp_path)
    with pytest.raises(ConfigError, match="has no SAM graphs"):
        load_onnx_predictor(tmp_path / "exp", sam_refine=True)
