"""An export that stays open-vocabulary, and RADSeg from it without PyTorch (docs/DEPLOY.md).

One export for the module (``radseg export onnx`` through the real entry point; tiny-random at
voc_mid, 336/112 windows, RADSeg) embedding two classes; every test segments *other* classes:
the language tower (``text_encoder.onnx``) embeds them. Parity: labels equal to the torch
backend on >= 99.9 % of pixels, from the torch-free runtime (run in a subprocess where
``import torch`` fails) and from the ONNX Runtime backend behind the predictor.
"""
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from radseg.cli import main  # noqa: E402

EXPORTED = "aeroplane, bird"
UNSEEN = ["sky", "tree|forest", "road", "car", "person in red"]
ROOT = Path(__file__).resolve().parents[1]

BLOCK_TORCH = """
import builtins, sys
_real = builtins.__import__
def _no_torch(name, *a, **k):
    if name == "torch" or name.startswith("torch."):
        raise ImportError("import of torch blocked by the test")
    return _real(name, *a, **k)
builtins.__import__ = _no_torch
"""


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    out = tmp_path_factory.mktemp("rt") / "voc_mid"
    assert main(["export", "onnx", "--model_version", "tiny-random", "--preset", "voc_mid", "--classes", EXPORTED,
                 "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    from PIL import Image
    rs = np.random.RandomState(3)
    low = rs.rand(5, 6, 3) * 255
    img = np.asarray(Image.fromarray(low.astype(np.uint8)).resize((90, 70), Image.BILINEAR))
    path = tmp_path_factory.mktemp("img") / "photo.png"
    Image.fromarray(img).save(path)
    return path


@pytest.fixture(scope="module")
def torch_labels(export, image):
    from radseg import RADSegPredictor
    from radseg.deploy.export_folder import OnnxExport
    cfg = OnnxExport.open(export).config()
    pred = RADSegPredictor.from_config(cfg.replace(text_disk_cache=False), device="cpu")
    return pred.predict(str(image), UNSEEN)


def test_export_holds_the_language_tower(export):
    m = json.loads((export / "radseg_onnx.json").read_text())
    assert m["format_version"] == 2 and "text_encoder" in m["parts"]
    assert all(len(p["sha256"]) == 64 for p in m["parts"].values())
    tower = m["text_tower"]
    assert tower["tokenizer"]["kind"] == "hash" and len(tower["templates"]) == 80
    assert all("{}" in t for t in tower["templates"])
    assert tower["embedding_max_rel_err"] <= 1e-4 and m["parts"]["text_encoder"]["check_max_rel_err"] <= 1e-4
    assert m["text"]["names"] == ["aeroplane", "bird"]  # the pre-computed cache, not a limit


def test_runtime_without_torch_segments_unseen_classes(export, image, torch_labels, tmp_path):
    script = BLOCK_TORCH + textwrap.dedent(f"""
        import numpy as np
        from radseg.deploy.runtime import OnnxSegmenter
        seg = OnnxSegmenter({str(export)!r}, threads=1)
        r = seg.predict({str(image)!r}, {UNSEEN!r})
        np.save({str(tmp_path / 'labels.npy')!r}, r.labels)
        np.save({str(tmp_path / 'probs.npy')!r}, r.probs)
        r.label_image().save({str(tmp_path / 'labels.png')!r})
        assert "torch" not in sys.modules
        print("ok", r.classes)
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RADSEG_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "ok ['sky', 'tree', 'road', 'car', 'person in red']" in done.stdout
    labels, probs = np.load(tmp_path / "labels.npy"), np.load(tmp_path / "probs.npy")
    assert labels.shape == torch_labels.labels.shape and probs.shape == tuple(torch_labels.probs.shape)
    agree = float((labels == torch_labels.labels.numpy()).mean())
    assert agree >= 0.999, agree
    assert np.abs(probs - torch_labels.probs.numpy()).max() < 1e-4
    assert len(np.unique(labels)) > 1  # not a constant map
    assert (tmp_path / "labels.png").is_file()
    assert list((tmp_path / "cache" / "text_embeddings_onnx").glob("*.npy"))  # embedded, cached on disk


def test_onnxruntime_backend_embeds_unseen_classes(export, image, torch_labels):
    from radseg.deploy.onnx_predictor import load_onnx_predictor
    pred = load_onnx_predictor(export, "cpu")
    r = pred.predict(str(image), UNSEEN)
    agree = float((r.labels == torch_labels.labels).float().mean())
    assert agree >= 0.999, agree


def test_text_embeddings_cached_by_digest(export, tmp_path, monkeypatch):
    from radseg.deploy.export_folder import OnnxExport
    from radseg.deploy.text_runtime import ExportTextEmbedder
    monkeypatch.setenv("RADSEG_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(ExportTextEmbedder, "_memory", {})
    ex = OnnxExport.open(export)
    first = ExportTextEmbedder.from_export(ex)(["zebra", "bird"])
    files = list((tmp_path / "text_embeddings_onnx").glob("*.npy"))
    assert len(files) == 1  # "bird" came from the export's own table
    monkeypatch.setattr(ExportTextEmbedder, "_memory", {})
    again = ExportTextEmbedder.from_export(ex)
    monkeypatch.setattr(again, "embed_one", lambda name: (_ for _ in ()).throw(AssertionError("recomputed")))
    assert np.array_equal(again(["zebra", "bird"]), first)
    other = ExportTextEmbedder.from_export(ex)
    other.tower = {**other.tower, "templates": ["a photo of {}."]}  # other templates: another key
    other.embed_one = lambda name: np.zeros(first.shape[1], np.float32)
    assert not np.array_equal(other(["zebra"]), first[:1])


def test_corrupt_graph_is_one_line(export, image, tmp_path, capsys):
    from radseg.deploy.runtime import OnnxSegmenter
    from radseg.errors import ConfigError
    bad = tmp_path / "bad"
    shutil.copytree(export, bad)
    data = (bad / "head_mlp.onnx").read_bytes()
    (bad / "head_mlp.onnx").write_bytes(data[: len(data) // 2])
    rc = main(["segment", str(image), "--labels", "sky, road", "--backend", "onnxruntime", "--model-dir", str(bad),
               "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc != 0 and len(err) == 1 and err[0].startswith("error: ")
    assert "head_mlp.onnx" in err[0] and "truncated or corrupt" in err[0] and "export again" in err[0]
    with pytest.raises(ConfigError, match="head_mlp.onnx' is truncated or corrupt"):
        OnnxSegmenter(bad)


def test_format_1_export_still_reads(export, image, tmp_path):
    from radseg.deploy.onnx_predictor import load_onnx_predictor
    from radseg.errors import ConfigError
    old = tmp_path / "v1"
    shutil.copytree(export, old)
    m = json.loads((old / "radseg_onnx.json").read_text())
    m["format_version"], m["text_tower"] = 1, None
    m["parts"] = {k: {kk: vv for kk, vv in v.items() if kk != "sha256"} for k, v in m["parts"].items()
                  if k != "text_encoder"}
    (old / "radseg_onnx.json").write_text(json.dumps(m))
    (old / "text_encoder.onnx").unlink()
    pred = load_onnx_predictor(old, "cpu")
    assert pred.predict(str(image), "aeroplane, bird").labels.shape == (70, 90)
    with pytest.raises(ConfigError, match="'sky' has no text embedding.*format-1"):
        pred.predict(str(image), "sky, bird")


def test_settings_line_on_both_backends(export, image, tmp_path, capsys):
    base = ["segment", str(image), "--labels", "sky, road", "--out", str(tmp_path / "x")]
    assert main(base + ["--model_version", "tiny-random"]) == 0
    torch_line = [x for x in capsys.readouterr().err.splitlines() if x.startswith("settings:")]
    assert main(base + ["--backend", "onnxruntime", "--model-dir", str(export), "--scale", "2048", "448"]) == 0
    ort_line = [x for x in capsys.readouterr().err.splitlines() if x.startswith("settings:")]
    assert torch_line == ["settings: windows 336/224, scale 2048 x 448, SCRA 10, SCGA 10, denoise 0.5 "
                          "(radseg's defaults (RADSegConfig))"]
    assert ort_line == [f"settings: windows 336/112, scale 2048 x 448, SCRA 10, SCGA 10, denoise 0.5 (from the "
                        f"export '{export}', preset voc_mid; from the command line: scale)"]


def test_bench_takes_an_existing_export(export, tmp_path):
    js = tmp_path / "bench.json"
    rc = main(["bench", "--model_version", "tiny-random", "--backend", "torch", "onnxruntime", "--small",
               "--device", "cpu", "--preset", "voc_mid", "--refine", "off", "--mode", "exact",
               "--model-dir", str(export), "--json", str(js)])
    assert rc == 0
    rows = json.loads(js.read_text())["results"]
    assert [r.get("backend") for r in rows] == ["torch", "onnxruntime"]
    assert rows[1]["export_from"] == str(export) and rows[1]["export_s"] == 0.0
    assert rows[1]["pixel_agreement_vs_torch"] >= 0.999
    # a case the export does not fit (other windows) is one line (checked per case, after its torch row)
    from radseg.config import RADSegConfig
    from radseg.deploy.bench import _existing_export, use_export
    from radseg.errors import ConfigError
    assert use_export(str(export)) == "tiny-random"
    try:
        with pytest.raises(ConfigError, match=r"slide_crop=224 \(export: 336\)"):
            _existing_export(None, RADSegConfig(model_version="tiny-random", slide_crop=224, slide_stride=112))
    finally:
        use_export(None)


def _doc_blocks(lang):
    import re
    text = (ROOT / "docs" / "DEPLOY.md").read_text()
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)


def test_deploy_doc_examples_run_as_written(tmp_path, monkeypatch, capsys):
    """Every command and the Python example of docs/DEPLOY.md's first blocks, with the stand-in."""
    import shlex

    from PIL import Image

    from radseg.deploy import runtime
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RADSEG_CACHE_DIR", str(tmp_path / "cache"))
    rs = np.random.RandomState(5)
    Image.fromarray((rs.rand(375, 500, 3) * 255).astype(np.uint8)).save(tmp_path / "photo.jpg")
    commands = [ln for ln in _doc_blocks("bash")[0].splitlines() if ln.strip() and not ln.startswith("pip ")]
    assert len(commands) == 7
    for line in commands:
        line = line.replace("c-radio_v3-b", "tiny-random").replace("--sam-refine", "--sam-refine --sam-ckpt "
                                                                                  "tiny-random-sam")
        argv = shlex.split(line, comments=True)
        t0 = time.perf_counter()
        if argv[0] == "radseg":
            rc = main(argv[1:])
        else:
            assert argv[:3] == ["python", "-m", "radseg.deploy.runtime"]
            rc = runtime.main(argv[3:])
        assert rc == 0, (line, capsys.readouterr().err[-2000:])
        print(f"{time.perf_counter() - t0:.1f} s: {line}", file=sys.__stderr__)
    assert (tmp_path / "photo_labels.png").is_file() and (tmp_path / "exports" / "ade_plus" / "sam_neck.onnx").is_file()
    code = _doc_blocks("python")[0]
    scope = {}
    exec(compile(code, "DEPLOY.md", "exec"), scope)
    assert scope["seg"].classes == [["sky"], ["building"], ["tree", "forest"]]
