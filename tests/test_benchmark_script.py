import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_speed_script_is_radseg_bench():
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "speed.py"), "--model_version", "tiny-random",
                          "--sam", "tiny-random-sam", "--preset", "voc_low", "--small", "--refine", "on", "--repeats", "1",
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
