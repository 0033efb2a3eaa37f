"""The command layer: every ``radseg`` command (and ``eval.py``) as *plan -> run -> record*.

* *plan*: parse, resolve and check everything (settings, model name, pinning, SAM, classes,
  backend, inputs, outputs) through :mod:`.preflight`; no model is loaded;
* *run*: build the model once and do the work;
* *record*: write the outputs, the record or the manifest, and print one summary line.

:data:`radseg.cli.COMMANDS` registers the commands. Nothing below this layer (config,
predictor, core, models, data, metrics, deploy backends) imports from it
(``tests/test_layout.py``). This package's ``__init__`` imports nothing: ``radseg --help``
stays fast.
"""
