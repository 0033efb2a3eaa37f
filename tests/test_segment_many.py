"""radseg segment over collections (issue 15, section 1), through the real entry point.

One module-scoped folder of tiny images (32 x 40) with a corrupt file in it; small windows
(--scale 64 48, 32/16) keep every run of the tiny-random stand-in under a second of compute."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from radseg import segment_many
from radseg.cli import main as radseg_main
from test_segment_cli import run  # radseg segment in-process: (rc, stdout, stderr)

ROOT = Path(__file__).resolve().parents[1]
FAST = ["--model_version", "tiny-random", "--scale", "64", "48", "--slide-crop", "32", "--slide-stride", "16",
        "--labels", "sky, grass|lawn, dog"]
CLASSES = ["sky", "grass|lawn", "dog"]


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    d = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    (d / "sub").mkdir()
    for name, shape in (("a.png", (32, 40)), ("b.jpg", (32, 40)), ("sub/c.png", (40, 32))):
        Image.fromarray(rng.integers(0, 256, (*shape, 3), dtype=np.uint8)).save(d / name)
    (d / "broken.jpg").write_bytes((d / "b.jpg").read_bytes()[:200])  # truncated JPEG
    (d / "notes.txt").write_text("not an image")
    return d


@pytest.fixture(scope="module")
def folder_run(photos, tmp_path_factory):
    """One folder run (recursive, one loader worker), as the module's reference outputs."""
    out = tmp_path_factory.mktemp("out")
    import contextlib
    import io
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()) as so:
        rc = radseg_main(["segment", str(photos), "--recursive", "--out", str(out), "--num-workers", "1",
                          "--save-probs", *FAST])
    return out, rc, err.getvalue(), so.getvalue()


def manifest(out):
    lines = [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()]
    return lines[0], {Path(e["source"]).name: e for e in lines[1:]}


def labels(path):
    return np.array(Image.open(path))


def test_folder_with_a_corrupt_file_goes_on_and_lists_it(folder_run, photos):
    out, rc, err, stdout = folder_run
    assert rc == 1 and "Traceback" not in err
    assert "broken.jpg" in err.splitlines()[-1] and err.splitlines()[-1].startswith("error: 1 image(s)")
    assert "'tiny-random' has random weights" in err and "notes.txt" in err
    assert stdout.startswith("segmented 3, skipped 0 (already done), failed 1;") and "images/s" in stdout
    for rel in ("a", "b", "sub/c"):
        assert (out / f"{rel}_labels.png").is_file() and (out / f"{rel}_overlay.png").is_file()
        probs = np.load(out / f"{rel}_probs.npy")
        assert probs.dtype == np.float16 and probs.shape[0] == 3
    assert not list(out.rglob("broken*")) and not list(out.rglob(".*.part"))
    head, entries = manifest(out)
    assert head["manifest"] == "radseg.segment/1" and head["weights"] == "random stand-in"
    assert head["classes"] == ["sky", "grass", "dog"] and head["images"] == 4
    a = entries["a.png"]
    assert a["status"] == "done" and (a["width"], a["height"]) == (40, 32) and a["labels"] == "a_labels.png"
    assert abs(sum(a["classes"].values()) - 1) < 1e-3 and set(a["classes"]) <= {"sky", "grass", "dog"}
    assert set(a["timings_ms"]) == {"preprocess", "segment", "total"} and a["settings_hash"] == head["settings_hash"]
    assert entries["broken.jpg"]["status"] == "failed" and "truncated" in entries["broken.jpg"]["error"].lower()


def test_folder_labels_equal_single_image_labels_and_a_rerun_skips_everything(folder_run, photos, tmp_path, capsys):
    out, _, _, _ = folder_run
    rc, stdout, err = run(capsys, photos / "sub" / "c.png", "--out", tmp_path / "one", *FAST)
    assert rc == 0, err
    assert np.array_equal(labels(tmp_path / "one_labels.png"), labels(out / "sub" / "c_labels.png"))
    assert np.array_equal(np.array(Image.open(tmp_path / "one_overlay.png")),
                          np.array(Image.open(out / "sub" / "c_overlay.png")))
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*_labels.png")}
    lst = tmp_path / "list.txt"  # the same images by --list (relative to the list file) and a glob
    lst.write_text(f"# three images\n{os.path.relpath(photos / 'a.png', tmp_path)}\n\n")
    rc, stdout, err = run(capsys, str(photos / "*.jpg"), str(photos / "**" / "c.png"), "--list", lst, "--out", out,
                          "--num-workers", "0", "--save-probs", *FAST)
    assert stdout.startswith("segmented 0, skipped 3 (already done), failed 1") and rc == 1  # (broken.jpg)
    rc, stdout, err = run(capsys, photos, "-r", "--out", out, "--num-workers", "0", "--save-probs", *FAST)
    assert stdout.startswith("segmented 0, skipped 3 (already done), failed 1")
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*_labels.png")} == before  # nothing rewritten
    _, entries = manifest(out)
    assert entries["a.png"]["status"] == "skipped" and "timings_ms" in entries["a.png"]  # kept from the run


def test_a_killed_run_leaves_no_half_written_file_and_the_rerun_completes(photos, folder_run, tmp_path, capsys,
                                                                          monkeypatch):
    out = tmp_path / "out"
    real = segment_many._atomic
    calls = []

    def dies_on_the_second_label_map(path, write):
        if path.name.endswith("_labels.png"):
            calls.append(path)
            if len(calls) == 2:  # killed mid-write: a partial temporary file, then the signal
                (path.parent / f".{path.name}.x.part").write_bytes(b"\x89PNG half")
                raise KeyboardInterrupt
        real(path, write)

    monkeypatch.setattr(segment_many, "_atomic", dies_on_the_second_label_map)
    rc, stdout, err = run(capsys, photos, "-r", "--out", out, "--num-workers", "0", *FAST)
    assert rc == 130
    assert (out / "a_labels.png").is_file() and not (out / "b_labels.png").exists()
    for p in out.rglob("*.png"):
        Image.open(p).load()  # every file under an output name is complete
    monkeypatch.setattr(segment_many, "_atomic", real)
    rc, stdout, err = run(capsys, photos, "-r", "--out", out, "--num-workers", "0", *FAST)
    assert stdout.startswith("segmented 2, skipped 1 (already done), failed 1"), stdout + err
    assert not list(out.rglob(".*.part"))
    ref, _, _, _ = folder_run
    for rel in ("a", "b", "sub/c"):
        assert np.array_equal(labels(out / f"{rel}_labels.png"), labels(ref / f"{rel}_labels.png"))


def test_predict_many_equals_predict(photos):
    from radseg import RADSegPredictor
    p = RADSegPredictor.from_pretrained("tiny-random", device="cpu", scale=(64, 48), slide_crop=32, slide_stride=16)
    images = [photos / "a.png", np.array(Image.open(photos / "b.jpg")), Image.open(photos / "sub" / "c.png")]
    one = [p.predict(im, CLASSES) for im in images]
    many = list(p.predict_many(images, CLASSES, num_workers=1))
    assert len(many) == 3 and all(torch.equal(a.labels, b.labels) and torch.equal(a.probs, b.probs)
                                  for a, b in zip(one, many))
    batched = list(p.predict_many(images, CLASSES, batch_size=2))  # a and b share backbone calls
    assert all(torch.equal(a.labels, b.labels) and torch.allclose(a.probs, b.probs, atol=1e-5)
               for a, b in zip(one, batched))
    from radseg.errors import DatasetError
    with pytest.raises(DatasetError, match="broken.jpg"):
        list(p.predict_many([photos / "a.png", photos / "broken.jpg"]))


def test_torchrun_two_cpu_processes_write_the_same_files(photos, folder_run, tmp_path):
    ref, _, _, _ = folder_run
    out = tmp_path / "dist"
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    env.pop("CUDA_VISIBLE_DEVICES", None)
    res = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                          "-m", "radseg.cli", "segment", str(photos), "-r", "--out", str(out), "--num-workers", "0",
                          "--save-probs", "--device", "cpu", *FAST], capture_output=True, text=True, env=env,
                         timeout=600, cwd=tmp_path)
    # rank 0 exits 1 for the unreadable file (torchrun then prints its own failure summary)
    assert res.returncode == 1 and "error: 1 image(s) could not be read and were skipped" in res.stderr, res.stderr
    assert res.stdout.count("segmented 3, skipped 0") == 1  # one summary (rank 0)
    got = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    want = sorted(str(p.relative_to(ref)) for p in ref.rglob("*") if p.is_file())
    assert got == want
    for rel in got:
        if rel.endswith(".png"):
            assert np.array_equal(np.array(Image.open(out / rel)), np.array(Image.open(ref / rel))), rel
        elif rel.endswith(".npy"):
            assert np.array_equal(np.load(out / rel), np.load(ref / rel)), rel
    _, entries = manifest(out)
    _, ref_entries = manifest(ref)
    assert {k: e["status"] for k, e in entries.items()} == {"a.png": "done", "b.jpg": "done", "c.png": "done",
                                                            "broken.jpg": "failed"}
    assert {k: e.get("classes") for k, e in entries.items()} == {k: e.get("classes") for k, e in ref_entries.items()}
