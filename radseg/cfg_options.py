"""Which ``--cfg-options`` keys take effect in eval.py's test run, and the check that refuses
the others (eval.py and the sweep's pass-through), so no setting is silently ignored.

mmengine's ``Config.merge_from_dict`` adds any top-level key; nothing tells the user that
nobody reads it (``slide_stride=224`` instead of ``model.slide_stride=224`` used to exit 0
with a record that still said 112). The keys that take effect are what mmengine 0.10's
``Runner.from_cfg`` / ``Runner.test`` read (``cfg['model']``, ``cfg.get('test_dataloader')``,
... and in ``wrap_model`` ``model_wrapper_cfg`` and ``sync_bn``) plus the two eval.py reads
itself (``benchmark``, ``data_dirnames``). The Runner also reads training and validation
keys, but only when it trains or validates: eval.py only tests, so they are refused too.

No mmengine import: cheap enough for the sweep's plan.
"""
from __future__ import annotations

from typing import Iterable, Sequence

from .config import RADSegConfig
from .errors import ConfigError

#: top-level keys read in eval.py's test run (mmengine's Runner, or eval.py).
TEST_RUN_KEYS = ("model", "test_dataloader", "test_cfg", "test_evaluator", "default_hooks", "custom_hooks",
                 "env_cfg", "log_processor", "log_level", "visualizer", "default_scope", "randomness",
                 "experiment_name", "model_wrapper_cfg", "load_from", "resume", "sync_bn",
                 "benchmark", "data_dirnames")
#: read by mmengine's Runner only to train or validate (eval.py only tests).
TRAIN_ONLY_KEYS = ("train_dataloader", "train_cfg", "val_dataloader", "val_cfg", "val_evaluator",
                   "optim_wrapper", "param_scheduler", "auto_scale_lr", "find_unused_parameters",
                   "activation_checkpointing", "efficient_conv_bn_eval")
#: top-level keys eval.py sets from its own flags (a --cfg-options value would be overwritten).
OWN_FLAG = {"work_dir": "--work-dir DIR", "launcher": "--launcher", "data_root": "--data-root DIR",
            "data_preprocessor": "model.data_preprocessor"}
#: ``model.*`` keys besides the RADSegConfig fields that the segmentor takes.
MODEL_EXTRA_KEYS = ("type", "class_names", "num_classes", "data_preprocessor", "init_cfg")
#: RADSegConfig fields the segmentor does not read, and where the setting lives instead.
MODEL_UNUSED = {"scale": "the test pipeline's Resize sets the image size: "
                         "test_dataloader.dataset.pipeline.1.scale='(2048,448)'"}


def model_keys() -> Sequence[str]:
    """Every key ``model=dict(type='RADSegSegmentation', ...)`` takes."""
    return tuple(sorted(set(RADSegConfig.field_names()) | set(MODEL_EXTRA_KEYS)))


def check_cfg_options(options: Iterable[str], defined: Iterable[str] = (), *, radseg_model: bool = True) -> None:
    """Raise :class:`ConfigError` for the first ``--cfg-options`` entry (``KEY=VALUE``, the key
    dotted, e.g. ``model.slide_stride=224``) that would take no effect in eval.py's test run.

    ``defined``: the config file's own top-level names (variables such as ``img_scale`` are
    used only while the file is read); ``radseg_model``: the config's model is RADSeg's, so
    ``model.*`` keys are checked against :func:`model_keys` too.
    """
    defined = set(defined)
    fields = set(RADSegConfig.field_names())
    for entry in options:
        key, _, value = entry.partition("=")
        key = key.strip()
        top, _, rest = key.partition(".")
        where = f"--cfg-options {entry}: "
        if top == "model" and radseg_model and rest:
            sub = rest.split(".")[0]
            if sub in MODEL_UNUSED:
                raise ConfigError(f"{where}model.{sub} is not used by eval.py; {MODEL_UNUSED[sub]}.")
            if sub not in model_keys():
                raise ConfigError(f"{where}unknown model setting(s) {sub}. Known: {', '.join(model_keys())}.")
            continue
        if top in TEST_RUN_KEYS:
            continue
        if top in OWN_FLAG:
            raise ConfigError(f"{where}eval.py sets '{top}' itself; use {OWN_FLAG[top]} instead.")
        if top in fields:
            fix = MODEL_UNUSED.get(top) or f"spell it model.{key}={value}"
            raise ConfigError(f"{where}'{top}' is a RADSeg model setting, not a top-level key: {fix} "
                              f"(a top-level '{top}' is read by nothing).")
        if top in TRAIN_ONLY_KEYS:
            raise ConfigError(f"{where}mmengine reads '{top}' only to train or validate; eval.py runs the "
                              f"test loop, so it would have no effect.")
        what = (f"'{top}' is a variable of the config file, used only while the file is read; setting it "
                f"afterwards changes nothing (set the key that uses it, or edit a copy of the config)"
                if top in defined else f"unknown top-level key '{top}': nothing reads it")
        raise ConfigError(f"{where}{what}. Keys that take effect: model.<setting>, "
                          f"{', '.join(k for k in TEST_RUN_KEYS if k != 'model')}.")

