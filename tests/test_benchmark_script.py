import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_speed_benchmark_reports_every_stage_and_the_device():
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "speed.py"), "--model_version", "tiny-random",
                          "--size", "112", "224", "--preset", "low", "--classes", "5", "--sam-refine",
                          "--sam-ckpt", "tiny-random-sam", "--warmup", "0", "--repeats", "1", "--device", "cpu"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    rep = json.loads(out.stdout)
    assert rep["device"] and rep["crop_stride"] == [224, 112] and rep["sam_refine"] is True
    assert set(rep["median_ms"]) == {"windows_backbone", "scga", "project_cosine", "upsample_denoise",
                                     "sam_refine", "total"}
    assert all(v >= 0 for v in rep["median_ms"].values())
