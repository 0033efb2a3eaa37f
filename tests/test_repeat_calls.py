"""benchmarks/repeat_calls.py: repeated predict calls in one process, in-process at stand-in sizes
(structure and the bit check only: no timing is asserted)."""
import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _script():
    spec = importlib.util.spec_from_file_location("repeat_calls", ROOT / "benchmarks" / "repeat_calls.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_repeat_calls_records_every_call_and_compares_the_labels(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert _script().main(["--small", "--sam", "--preset", "voc20_mid", "--calls", "2", "--images", "1",
                           "--json", str(out)]) == 0
    rep = json.loads(out.read_text())
    assert rep == json.loads(capsys.readouterr().out)
    assert rep["sam_refine"] and rep["model_version"] == "c-radio_v3-b-random-small" and rep["classes"] == 20
    calls = rep["calls"]
    assert [c["call"] for c in calls] == [1, 2] and [c["image"] for c in calls] == [0, 0]
    assert [c["labels_identical"] for c in calls] == [None, True] and rep["all_labels_identical"]
    assert all(c["ms"] > 0 and c["cpu_ms"] >= 0 and c["output_requires_grad"] is False for c in calls)
    assert all(c["sam_regions"] > 0 for c in calls)  # the peaked workload: SAM refines something
    assert {"windows_backbone", "sam_embedding", "sam_decoder"} <= set(calls[0]["stages_ms"])
    assert rep["first_ms"] == calls[0]["ms"] and rep["later_over_first_max"] > 0
