"""mmengine's ``Runner`` over an already built model instance (eval.py loads the weights once)."""
from __future__ import annotations


def build_runner(cfg, model):
    """mmengine's ``Runner`` over the built ``model`` instance (``Runner.from_cfg`` would deep-copy
    the config and build a second model from ``cfg.model``)."""
    import copy

    from mmengine.runner import Runner
    cfg = copy.deepcopy(cfg)
    keys = ("train_dataloader", "val_dataloader", "test_dataloader", "train_cfg", "val_cfg", "test_cfg",
            "auto_scale_lr", "optim_wrapper", "param_scheduler", "val_evaluator", "test_evaluator",
            "default_hooks", "custom_hooks", "data_preprocessor", "load_from", "log_processor", "visualizer",
            "experiment_name")
    return Runner(model=model, work_dir=cfg["work_dir"], **{k: cfg.get(k) for k in keys},
                  resume=cfg.get("resume", False), launcher=cfg.get("launcher", "none"),
                  env_cfg=cfg.get("env_cfg", dict(dist_cfg=dict(backend="nccl"))),
                  log_level=cfg.get("log_level", "INFO"), default_scope=cfg.get("default_scope", "mmengine"),
                  randomness=cfg.get("randomness", dict(seed=None)), cfg=cfg)
