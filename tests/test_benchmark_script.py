import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_speed_script_is_radseg_bench():
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "speed.py"), "--model_version", "tiny-random",
                          "--sam", "tiny-random-sam", "--preset", "voc_low", "--small", "--refine", "on",
                          "--repeats", "1",
                          "--mode", "exact", "--device", "cpu", "--print-json"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    rep = json.loads(out.stdout)
    assert rep["meta"]["device"] and rep["meta"]["model_version"] == "tiny-random"
    (row,) = rep["results"]
    assert row["refine"] is True and (row["crop"], row["stride"]) == (224, 112)
    assert {"windows_backbone", "scga", "project_cosine", "upsample", "regions", "sam_embedding",
            "sam_decoder", "merge"} == set(row["stages_ms"])
    assert all(v >= 0 for v in row["stages_ms"].values()) and row["ratio_to_limit"] > 0


def _speed_main():
    import importlib.util
    spec = importlib.util.spec_from_file_location("speed_script", ROOT / "benchmarks" / "speed.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.main


def test_old_speed_flags_say_the_interface_changed(capsys):
    """The old flags (--classes, --size, --preset low|mid|high, ...) are refused with the new spelling,
    never mapped by a guess (issue 17)."""
    main = _speed_main()
    cases = [(["--size", "448", "672", "--device", "cpu"], "--size is from the old benchmarks/speed.py"),
             (["--classes", "171"], "the class count is the preset dataset's"),
             (["--sam-refine"], "use --refine on"),
             (["--preset", "mid"], "--preset mid is from the old benchmarks/speed.py"),
             (["--preset=low"], "e.g. --preset voc_low")]
    for argv, needle in cases:
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ") and needle in err[0], (argv, err)
