"""A real single-node Slurm cluster for the tests: munged, slurmctld and slurmd on localhost.

:func:`start_cluster` writes a minimal ``slurm.conf`` (this host, 2 CPUs, no cgroups, no
accounting: proctrack/linuxproc, task/none, select/cons_tres with CR_CPU, SlurmUser=root) and
every state, spool, log, pid and socket file into one temporary folder, starts the three
daemons as root, and waits until ``sinfo`` shows the node idle. :meth:`SlurmCluster.stop`
ends exactly those daemons, by the pids in their pid files.

:func:`unavailable` says why a cluster cannot run here (not root, Slurm not installed and no
apt to install it); the tests skip with that reason, except in CI (``CI=true``), where they
fail with it. Needs the Debian packages ``slurmctld slurmd slurm-client munge`` (``.ci/run``
installs them).
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

DAEMONS = ("slurmd", "slurmctld", "munged")  # stop order
TOOLS = ("munged", "mungekey", "slurmctld", "slurmd", "srun", "salloc", "sinfo", "scontrol")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unavailable() -> Optional[str]:
    """Why a Slurm cluster cannot be started here (None: it can)."""
    if os.geteuid() != 0:
        return "the Slurm test cluster runs its daemons as root (SlurmUser=root); not root here"
    missing = [t for t in TOOLS if shutil.which(t) is None and not Path("/usr/sbin", t).exists()]
    if missing:
        return (f"Slurm is not installed ({', '.join(missing)} not found): "
                f"apt-get install slurmctld slurmd slurm-client munge (.ci/run does)")
    return None


def _tool(name: str) -> str:
    return shutil.which(name) or str(Path("/usr/sbin", name))


SLURM_CONF = """\
ClusterName=radsegtest
SlurmctldHost={node}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SrunPortRange={srun_lo}-{srun_hi}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={dir}/munge/munge.socket
SlurmUser=root
SlurmdUser=root
StateSaveLocation={dir}/state
SlurmdSpoolDir={dir}/spool
SlurmctldPidFile={dir}/slurmctld.pid
SlurmdPidFile={dir}/slurmd.pid
SlurmctldLogFile={dir}/log/slurmctld.log
SlurmdLogFile={dir}/log/slurmd.log
PlugStackConfig={dir}/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
SwitchType=switch/none
MpiDefault=none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
MinJobAge=5
NodeName={node} NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=debug Nodes={node} Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
"""


@dataclass
class SlurmCluster:
    """A running test cluster; :attr:`env` is what a client (srun, salloc, sinfo) needs."""

    dir: Path
    node: str
    env: Dict[str, str] = field(default_factory=dict)
    started: List[str] = field(default_factory=list)

    def pid(self, daemon: str) -> Optional[int]:
        p = self.dir / ("munge/munged.pid" if daemon == "munged" else f"{daemon}.pid")
        try:
            return int(p.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def logs(self) -> str:
        out = []
        for p in sorted((self.dir / "log").glob("*.log")) + [self.dir / "munge/munged.log"]:
            if p.is_file():
                out.append(f"--- {p.name}\n" + p.read_text(errors="replace")[-2000:])
        return "\n".join(out)

    def run(self, *cmd, timeout=60, **kw) -> subprocess.CompletedProcess:
        return subprocess.run([*map(str, cmd)], env=kw.pop("env", self.env), capture_output=True, text=True,
                              timeout=timeout, **kw)

    def stop(self) -> None:
        """End the daemons this cluster started (by their pid files), then wait for them."""
        pids = [(d, self.pid(d)) for d in DAEMONS if d in self.started]
        for _, pid in pids:
            if pid:
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.time() + 10
        for _, pid in pids:
            while pid and time.time() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.1)
            else:
                if pid:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
        self.started.clear()


def start_cluster(dir: Path, timeout: float = 60) -> SlurmCluster:
    """Write the configuration under ``dir``, start munged, slurmctld and slurmd, and wait
    until the node is idle. Raises RuntimeError (with the daemons' logs) when it does not come up."""
    dir = Path(dir)
    for sub in ("munge", "state", "spool", "log"):
        (dir / sub).mkdir(parents=True, exist_ok=True)
    os.chmod(dir / "munge", 0o755)  # munged's socket must be reachable
    node = socket.gethostname().split(".")[0]
    lo = free_port()
    conf = SLURM_CONF.format(node=node, dir=dir, ctld_port=free_port(), slurmd_port=free_port(),
                             srun_lo=lo, srun_hi=lo + 20)
    (dir / "slurm.conf").write_text(conf)
    (dir / "plugstack.conf").write_text("")
    env = dict(os.environ, SLURM_CONF=str(dir / "slurm.conf"))
    for var in [k for k in env if k.startswith(("SLURM_", "SBATCH_", "SALLOC_", "SRUN_")) and k != "SLURM_CONF"]:
        env.pop(var)  # not inside someone else's allocation
    try:  # mmengine's slurm launcher meets at the node's name; a container may not resolve its own
        socket.gethostbyname(node)
    except OSError:
        env["MASTER_ADDR"] = "127.0.0.1"
    cluster = SlurmCluster(dir, node, env)
    key = dir / "munge/munge.key"
    subprocess.run([_tool("mungekey"), "--create", f"--keyfile={key}"], check=True, capture_output=True)
    os.chmod(key, 0o600)
    m = dir / "munge"
    steps = [
        ("munged", [_tool("munged"), "--force", f"--socket={m}/munge.socket", f"--key-file={key}",
                    f"--log-file={m}/munged.log", f"--pid-file={m}/munged.pid", f"--seed-file={m}/munged.seed"]),
        ("slurmctld", [_tool("slurmctld"), "-f", str(dir / "slurm.conf")]),
        ("slurmd", [_tool("slurmd"), "-f", str(dir / "slurm.conf"), "-N", node]),
    ]
    try:
        for name, cmd in steps:
            cluster.started.append(name)
            out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=30)
            if out.returncode != 0:
                raise RuntimeError(f"{name} did not start (exit {out.returncode}): {out.stderr.strip()}")
            _wait(lambda name=name: cluster.pid(name), 15, f"{name} wrote no pid file")
        state = ""

        def idle():
            nonlocal state
            r = cluster.run(_tool("sinfo"), "-h", "-N", "-o", "%T", timeout=10)
            state = (r.stdout or r.stderr).strip()
            return r.returncode == 0 and state.startswith("idle")

        _wait(idle, timeout, lambda: f"the node is not idle (sinfo: {state!r})")
    except Exception as e:
        logs = cluster.logs()
        cluster.stop()
        raise RuntimeError(f"the Slurm test cluster did not come up: {e}\n{logs}") from None
    return cluster


def _wait(ok, timeout: float, what) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if ok():
            return
        time.sleep(0.2)
    raise RuntimeError(what() if callable(what) else what)
