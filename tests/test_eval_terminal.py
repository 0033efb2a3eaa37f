"""eval.py's terminal (issue 17): the ``data:`` line, a progress bar and the result; mmengine's
log only in the work dir unless ``--verbose``; no "prefix is not set" warning anywhere."""
import io
import sys
from pathlib import Path

import pytest

from datagen import make_dataset

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("data")
    make_dataset("voc20", d, n=3)
    return d


def eval_args(data, work, *extra):
    return ["--config", str(ROOT / "configs_mmseg/low_res/voc20.py"), "--model_version", "tiny-random",
            "--data-root", str(data), "--work-dir", str(work), "--num-workers", "0", *extra]


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_quiet_terminal_full_log_in_the_work_dir(data, tmp_path, capsys, monkeypatch):
    from radseg.cli import run_eval_main
    tty = Terminal()
    monkeypatch.setattr(sys, "stderr", tty)  # a terminal: tqdm draws its bar there
    assert run_eval_main(eval_args(data, tmp_path / "w")) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 4, out  # data, the random-weights note (issue 15), the result, the log's path
    assert out[0].startswith(f"data: {data / 'VOC2012'} (voc20, 3 of 1449 images")
    assert out[1].startswith("note: ") and "random" in out[1]
    assert out[2].startswith("mIoU ") and "aAcc" in out[2] and str(tmp_path / "w" / "results") in out[2]
    log = Path(out[3].split(": ", 1)[1])
    assert out[3].startswith("log (mmengine") and log.is_file() and log.parent.parent == tmp_path / "w"
    text = log.read_text()
    assert "System environment" in text and "per class results" in text  # mmengine's full log, kept
    assert "prefix is not set" not in text
    bar = tty.getvalue()
    assert "eval: 100%" in bar and "3/3" in bar, bar[-500:]


def test_verbose_restores_mmengines_output(data, tmp_path, capsys, monkeypatch):
    from radseg.cli import run_eval_main
    tty = Terminal()
    monkeypatch.setattr(sys, "stderr", tty)
    assert run_eval_main(eval_args(data, tmp_path / "w", "--verbose")) == 0
    out = capsys.readouterr().out
    assert "System environment" in out and "per class results" in out
    assert "prefix is not set" not in out + tty.getvalue()
    assert "eval:" not in tty.getvalue()  # no bar next to mmengine's own Iter(test) lines


def test_two_runs_in_one_second_keep_their_own_logs(data, tmp_path, capsys, monkeypatch):
    """mmengine names a run's logger after the config and the second it started: a quiet run and a
    --verbose run in the same second (in one process) must not share one logger (the second run's
    output went to the first run's sink and log file)."""
    import time
    from types import SimpleNamespace

    import mmengine.runner.runner as mm_runner

    from radseg.cli import run_eval_main
    frozen = time.time()
    monkeypatch.setattr(mm_runner, "time", SimpleNamespace(time=lambda: frozen, strftime=time.strftime,
                                                           localtime=time.localtime))
    monkeypatch.setattr(sys, "stderr", Terminal())
    assert run_eval_main(eval_args(data, tmp_path / "a")) == 0
    capsys.readouterr()
    assert run_eval_main(eval_args(data, tmp_path / "b", "--verbose")) == 0
    assert "System environment" in capsys.readouterr().out
    logs = [next((tmp_path / w).glob("*/*.log")) for w in ("a", "b")]
    assert logs[0].name == logs[1].name  # the same second
    assert all("System environment" in p.read_text() for p in logs)
