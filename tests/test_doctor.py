"""Issue 24 section 4: `radseg doctor` through the real entry point (radseg.cli.main, in-process) with
temporary cache and data folders: the table, --for's exit status and first fix, the protocol traps,
the SAM digest, an incomplete benchmark, offline reporting and --json."""
import hashlib
import json
from pathlib import Path

import pytest

from datagen import make_dataset
from radseg.cli import main
from radseg.presets import datasets_in_group

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def paper_data(tmp_path_factory):
    data = tmp_path_factory.mktemp("doctor") / "data"
    for key in datasets_in_group("paper"):
        make_dataset(key, data, n=2, size=(12, 16))
    return data


@pytest.fixture
def setup(tmp_path, monkeypatch):
    """Empty caches; returns helpers that fill them."""
    hf, torch_home, cache = tmp_path / "hf", tmp_path / "torch", tmp_path / "radseg_cache"
    monkeypatch.setenv("HF_HUB_CACHE", str(hf))
    monkeypatch.setenv("TORCH_HOME", str(torch_home))
    monkeypatch.setenv("RADSEG_CACHE_DIR", str(cache))
    monkeypatch.delenv("RADSEG_SAM_CKPT", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.chdir(tmp_path)

    class S:
        def radio(self):  # a Hugging Face snapshot of the paper's model
            snap = hf / "models--nvidia--C-RADIOv3-B" / "snapshots" / "0123abcd"
            snap.mkdir(parents=True)
            (snap / "config.json").write_text("{}")

        def sam(self, name=None, data=b"own SAM weights"):
            """A SAM file whose name carries its own SHA-256 prefix (accepted as eval.py accepts it)."""
            name = name or f"sam_{hashlib.sha256(data).hexdigest()[:8]}.pth"
            p = tmp_path / name
            p.write_bytes(data)
            monkeypatch.setenv("RADSEG_SAM_CKPT", str(p))
            return p
    return S()


def doctor(capsys, *args):
    rc = main(["doctor", "--offline", *map(str, args)])
    out = capsys.readouterr()
    return rc, out.out + out.err


def test_ready_for_the_paper(setup, paper_data, capsys):
    setup.radio()
    setup.sam()
    rc, out = doctor(capsys, "--for", "paper", "--data-root", paper_data, "--config",
                     ROOT / "configs_mmseg" / "low_res" / "voc20.py")
    assert rc == 0, out
    assert "ready for paper: everything it needs is here" in out
    for key in datasets_in_group("paper"):
        assert any(line.split()[:3] == ["data", key, "warn"] and "2 images" in line for line in out.splitlines())
    assert "SAM ViT-H" in out and "digest" in out and "slide_stride" in out
    # offline: it says what it could not check
    assert "not checked: " in out and "network: probe" in out.splitlines()[-1]
    rc, out = doctor(capsys, "--for", "paper", "--data-root", paper_data, "--json")
    rep = json.loads(out)
    assert rc == 0 and rep["ok"] and rep["job"] == "paper" and rep["first_fix"] is None
    assert "network: probe" in rep["not_checked"] and rep["online"] is None
    names = {(c["section"], c["name"]): c for c in rep["checks"]}
    assert names[("weights", "c-radio_v3-b")]["status"] == "ok" and names[("weights", "c-radio_v3-b")]["needed"]
    software = {n for s, n in names if s == "software"}
    assert {"python", "torch", "CUDA", "mmseg", "mmengine", "mmcv / mmcv-lite"} <= software
    assert {("disk", "cache"), ("disk", "data"), ("disk", "work")} <= set(names)


def test_protocol_traps_fail_the_paper_job(setup, paper_data, capsys, tmp_path):
    setup.radio()
    setup.sam()
    mine = tmp_path / "my_voc.txt"
    mine.write_text((ROOT / "radseg" / "class_names" / "voc20.txt").read_text().replace("aeroplane", "airplane"))
    rc, out = doctor(capsys, "--for", "paper", "--data-root", paper_data, "--dataset", "voc20",
                     "--resolution", "low_res", "--slide-stride", "224", "--slide-crop", "224", "--class-names", mine)
    assert rc == 1
    assert "224, not the paper's 112 for voc20 low_res" in out
    assert "not the literature's prompt file for voc20" in out
    assert "first fix (settings: slide_stride): use 112" in out
    # the built-in file and the paper's stride: no trap
    rc, out = doctor(capsys, "--for", "paper", "--data-root", paper_data, "--dataset", "voc20", "--resolution",
                     "low_res", "--slide-stride", "112", "--class-names", "voc20")
    assert rc == 0, out


def test_sam_missing_or_corrupt(setup, paper_data, capsys):
    setup.radio()
    rc, out = doctor(capsys, "--for", "paper", "--data-root", paper_data)
    assert rc == 1 and "first fix (weights: SAM ViT-H): download https://dl.fbaipublicfiles.com" in out
    setup.sam(name="sam_vit_h_4b8939.pth", data=b"truncated download")
    rc, out = doctor(capsys, "--for", "paper", "--data-root", paper_data)
    assert rc == 1 and "corrupt or incomplete" in out
    # the deploy job needs no SAM and no data
    rc, out = doctor(capsys, "--for", "deploy", "--data-root", paper_data / "nowhere")
    assert rc == 0, out


def test_incomplete_benchmark_and_missing_long_data(setup, tmp_path, capsys):
    setup.radio()
    setup.sam()
    data = tmp_path / "data"
    root = make_dataset("ade20k", data, n=2, size=(12, 16))
    next((root / "annotations" / "validation").iterdir()).unlink()
    rc, out = doctor(capsys, "--for", "paper", "--data-root", data)
    assert rc == 1
    row = next(line for line in out.splitlines() if line.split()[:2] == ["data", "ade20k"])
    assert "FAIL" in row and "incomplete" in row and "label file missing" in row
    assert "radseg data verify ade20k" in out
    rc, out = doctor(capsys, "--for", "long", "--data-root", data)
    assert rc == 1 and "first fix (data: ade847): prepare it with `radseg data prepare ade847" in out


def test_offline_without_weights_and_no_network(setup, tmp_path, capsys, monkeypatch):
    rc, out = doctor(capsys, "--for", "deploy")
    assert rc == 1 and "whether it can be downloaded was not checked (--offline)" in out
    assert "not ready for deploy" in out and "weights: c-radio_v3-b" in out.splitlines()[-1]
    import radseg.doctor
    monkeypatch.setattr(radseg.doctor, "network_reachable", lambda timeout=2.0: False)
    rc = main(["doctor", "--for", "deploy"])
    out = capsys.readouterr().out
    assert rc == 1 and "not cached, and no network" in out and "no connection to huggingface.co" in out
    rc = main(["doctor"])  # no job: the table only
    assert rc == 0
    with pytest.raises(SystemExit) as e:
        main(["doctor", "--for", "nothing"])
    assert e.value.code == 2 and "invalid choice" in capsys.readouterr().err
    assert main(["doctor", "--config", "nowhere.py"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --config nowhere.py not found") and len(err.strip().splitlines()) == 1
