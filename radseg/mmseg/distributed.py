"""Distributed evaluation set-up (``eval.py --launcher pytorch|slurm|mpi``).

mmengine shards the images over the processes (``DefaultSampler``) and the metric
gathers the per-image results; here: the launcher check, a plain inference wrapper
instead of DDP, and a Gloo process group on a machine without CUDA.
"""
from __future__ import annotations

import os

import torch

from ..errors import ConfigError

LAUNCHER_ENV = {"pytorch": ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR"),
                "slurm": ("SLURM_PROCID", "SLURM_NTASKS", "SLURM_NODELIST"),
                "mpi": ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_LOCAL_RANK")}
LAUNCHER_HINT = {"pytorch": "torchrun --nproc_per_node N eval.py ... --launcher pytorch",
                 "slurm": "srun --ntasks N python eval.py ... --launcher slurm",
                 "mpi": "mpirun -np N python eval.py ... --launcher mpi"}


def check_launcher(launcher: str) -> None:
    """``--launcher X`` needs the environment its launcher sets; say how to start it."""
    missing = [k for k in LAUNCHER_ENV.get(launcher, ()) if k not in os.environ]
    if missing:
        raise ConfigError(f"--launcher {launcher} needs the variables its launcher sets ({', '.join(missing)} "
                          f"missing). Start it as `{LAUNCHER_HINT[launcher]}`, or drop --launcher.")


def slurm_master_port(env=None) -> int:
    """The rendezvous port (20000..39999) of one ``srun`` step, from its job and step ids: the
    same on every task of the step, on every node; another for every other step. mmengine's
    slurm launcher takes ``MASTER_PORT`` and otherwise 29500 for every job, so a second
    multi-task job on the same node (two tasks of a job array, two sweeps) failed with
    "address already in use"."""
    env = os.environ if env is None else env
    job = int(env.get("SLURM_JOB_ID") or env.get("SLURM_JOBID") or 0)
    step = int(env.get("SLURM_STEP_ID") or env.get("SLURM_STEPID") or 0)
    return 20000 + (job * 31 + step) % 20000


def _register_inference_wrapper() -> str:
    """Register (once) a model wrapper for distributed *inference*; returns its registry name.

    mmengine wraps the model in ``MMDistributedDataParallel`` when launched distributed.
    A test loop needs no gradient synchronisation, and DDP refuses a CPU module given
    ``device_ids`` (mmengine always passes them) and a model without trainable parameters.
    This wrapper only holds the module (``.module``) and forwards the loop's calls; each
    process still gets its shard of the images from mmengine's ``DefaultSampler`` and the
    metric gathers the per-image results (truncated to the dataset size) once.
    """
    from mmengine.registry import MODEL_WRAPPERS
    name = "RADSegInferenceWrapper"
    if name not in MODEL_WRAPPERS.module_dict:
        class RADSegInferenceWrapper(torch.nn.Module):
            def __init__(self, module):
                super().__init__()
                self.module = module

            def test_step(self, data):
                return self.module.test_step(data)

            def val_step(self, data):
                return self.module.val_step(data)

            def forward(self, *args, **kwargs):
                return self.module(*args, **kwargs)

        MODEL_WRAPPERS.register_module(name=name, module=RADSegInferenceWrapper)
    return name


def _init_dist_without_gpu(launcher: str, dist_cfg) -> None:
    """Initialise the (Gloo) process group on a machine without CUDA.

    mmengine's ``init_dist`` calls ``torch.cuda.set_device(local_rank)`` unconditionally for
    the pytorch, slurm and mpi launchers, which raises "Found no NVIDIA driver" without a GPU.
    Here it runs with ``set_device`` a no-op; the Runner then finds the group initialised.
    """
    from unittest import mock

    from mmengine.dist import init_dist, is_distributed
    if torch.cuda.is_available() or is_distributed():
        return
    with mock.patch.object(torch.cuda, "set_device", lambda *a, **k: None):
        init_dist(launcher, **dict(dist_cfg))


def configure_launcher(cfg, launcher: str) -> None:
    """Set ``cfg`` up for ``--launcher`` (checked first): NCCL on GPU, Gloo without; the
    inference wrapper unless the config names one; the process group on a CPU-only machine."""
    check_launcher(launcher)
    cfg.launcher = launcher
    if launcher == "slurm" and not os.environ.get("MASTER_PORT"):  # a port you set is kept
        os.environ["MASTER_PORT"] = str(slurm_master_port())
    if launcher != "none":
        cfg.env_cfg.setdefault("dist_cfg", {})["backend"] = "nccl" if torch.cuda.is_available() else "gloo"
        if cfg.get("model_wrapper_cfg") is None:
            cfg.model_wrapper_cfg = dict(type=_register_inference_wrapper())
        _init_dist_without_gpu(launcher, cfg.env_cfg.dist_cfg)


def launcher_rank() -> str:
    """This process's rank as its launcher set it (``None`` when not launched distributed)."""
    return os.environ.get("RANK") or os.environ.get("SLURM_PROCID") or os.environ.get("OMPI_COMM_WORLD_RANK")
