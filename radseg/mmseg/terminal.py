"""What eval.py shows on the terminal: its own lines and a progress bar; mmengine's log goes to
the work dir only (``--verbose`` shows it on the terminal too).

mmengine's Runner builds an ``MMLogger`` whose terminal handler is a ``StreamHandler`` on the
``sys.stdout`` of that moment, next to a file handler on ``<work dir>/<stamp>/<stamp>.log``.
:func:`mmengine_log_to_file_only` builds the Runner with ``sys.stdout`` pointed at a sink, so
that handler writes nowhere while the file keeps every line (environment, config, per-class
table). :class:`ProgressBar` is a test-loop hook drawing a tqdm bar on a terminal (none when
stderr is not a terminal: logs and captured output stay clean).
"""
from __future__ import annotations

import contextlib
import sys

from mmengine.hooks import Hook


class _Sink:
    """A text stream that drops what it is given (no file descriptor to leak)."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


@contextlib.contextmanager
def mmengine_log_to_file_only(enabled: bool = True):
    """Around ``Runner.from_cfg``: its logger's terminal handler binds to a sink (``enabled``)."""
    if not enabled:
        yield
        return
    with contextlib.redirect_stdout(_Sink()):
        yield


class ProgressBar(Hook):
    """One tqdm bar over this process's test batches (rank 0 only; registered by eval.py)."""

    priority = "VERY_LOW"

    def __init__(self, desc: str = "eval"):
        self.desc = desc
        self.bar = None

    def before_test(self, runner) -> None:
        from tqdm import tqdm
        self.bar = tqdm(total=len(runner.test_dataloader), desc=self.desc, unit="batch", file=sys.stderr,
                        disable=None, dynamic_ncols=True)  # disable=None: no bar unless stderr is a terminal

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        """End the bar (also when the loop failed, so an ``error:`` line starts on its own line)."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def after_test(self, runner) -> None:
        self.close()
