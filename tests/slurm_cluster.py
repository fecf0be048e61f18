"""A throwaway single-node SLURM cluster for tests (root, Debian; no systemd needed).

`SlurmCluster(root)` writes slurm.conf/gres.conf for this host into /etc/slurm (the only place
`srun` inside a job finds them: Snakemake's jobstep drops every `SLURM_*` variable, SLURM_CONF
included, before calling srun; a slurm.conf that this module did not write is never
overwritten), keeps state, spool and logs under `root` (wiped at each start, so no node stays
DRAINed from an earlier run), starts munged (unless one already answers), slurmctld and slurmd
in the foreground as child processes, records their PIDs in `root/pids`, and stops exactly those
PIDs again (and removes the config files it wrote). The node offers one fake GPU
(`File=/dev/null`): a job submitted with `--gpus=1` is scheduled on it and sees
`CUDA_VISIBLE_DEVICES=0`.

There is no accounting database, so Snakemake's SLURM executor must be told
`--slurm-status-command squeue`; `MinJobAge=600` keeps finished jobs visible to squeue (and to
`scontrol show job`) for ten minutes, long enough for the executor's status checks
(`MinJobAge` must be >= 3 x `--slurm-init-seconds-before-status-checks`, otherwise the executor
falls back to sacct and waits forever). See /work/shared/docs/SLURM.md.
"""
from __future__ import annotations

import fcntl
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

PACKAGES = ["slurmctld", "slurmd", "slurm-client", "munge"]
BINARIES = ["slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "sinfo", "munged", "munge"]
# Non-default ports: never collide with a real SLURM on the same host.
CTLD_PORT, SLURMD_PORT = 6917, 6918
PARTITION = "debug"
MARKER = "# Written by tests/slurm_cluster.py"


class SlurmError(RuntimeError):
    pass


def _which(name: str) -> str | None:
    return shutil.which(name) or next(
        (str(p) for p in (Path("/usr/sbin") / name, Path("/sbin") / name) if p.exists()), None)


def missing_binaries() -> list[str]:
    return [b for b in BINARIES if _which(b) is None]


def ensure_installed(timeout: int = 600) -> None:
    """Install Debian's SLURM + munge packages when any of their programs is absent (root)."""
    if not missing_binaries():
        return
    if shutil.which("apt-get") is None:
        raise SlurmError(f"SLURM programs missing ({', '.join(missing_binaries())}) and no apt-get")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update", "-qq"],
                ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *PACKAGES]):
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise SlurmError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-2000:]}"
                             f"\n{proc.stderr[-2000:]}")
    if missing_binaries():
        raise SlurmError(f"still missing after install: {', '.join(missing_binaries())}")


def _host_memory_mb() -> int:
    out = subprocess.run([_which("slurmd"), "-C"], capture_output=True, text=True).stdout
    m = re.search(r"RealMemory=(\d+)", out)
    if m:
        return int(m.group(1))
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20


class SlurmCluster:
    """One controller + one compute node on this host; use as a context manager.

    `cpus`/`memory_mb` are what the node *advertises* (SlurmdParameters=config_overrides): without
    cgroups nothing is enforced, so advertising more than the host has only lets jobs that ask
    for more than a small CI machine owns be scheduled instead of rejected.
    """

    def __init__(self, root: Path, cpus: int | None = None, memory_mb: int | None = None,
                 gpus: int = 1, conf_dir: Path = Path("/etc/slurm")):
        self.root = Path(root)
        self.host = socket.gethostname().split(".")[0]
        self.cpus = cpus or max(os.cpu_count() or 1, 4)
        self.memory_mb = memory_mb or max(_host_memory_mb(), 64000)
        self.gpus = gpus
        self.conf = Path(conf_dir) / "slurm.conf"
        self.gres_conf = Path(conf_dir) / "gres.conf"
        self.log_dir = self.root / "log"
        self.pid_file = self.root / "pids"
        self.procs: dict[str, subprocess.Popen] = {}
        self._lock = None
        self.env = dict(os.environ, SLURM_CONF=str(self.conf))

    # ---------------------------------------------------------------- config
    def _ours(self, path: Path) -> bool:
        return not path.exists() or path.read_text().startswith(MARKER)

    def write_config(self) -> None:
        for path in (self.conf, self.gres_conf):
            if not self._ours(path):
                raise SlurmError(f"{path} exists and was not written by this test: not touching a "
                                 f"real SLURM configuration")
        for sub in ("log", "ctld", "slurmd"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self.conf.parent.mkdir(parents=True, exist_ok=True)
        r = self.root
        gres = f" Gres=gpu:{self.gpus}" if self.gpus else ""
        self.conf.write_text(f"""\
{MARKER}: a single-node test cluster, no accounting, no cgroups.
ClusterName=semaugtest
SlurmctldHost={self.host}(127.0.0.1)
SlurmctldPort={CTLD_PORT}
SlurmdPort={SLURMD_PORT}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SlurmdParameters=config_overrides
ReturnToService=2
MinJobAge=600
MpiDefault=none
GresTypes=gpu
StateSaveLocation={r}/ctld
SlurmdSpoolDir={r}/slurmd
SlurmctldPidFile={r}/slurmctld.pid
SlurmdPidFile={r}/slurmd.pid
SlurmctldLogFile={r}/log/slurmctld.log
SlurmdLogFile={r}/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
NodeName={self.host} NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory={self.memory_mb}{gres} State=UNKNOWN
PartitionName={PARTITION} Nodes={self.host} Default=YES MaxTime=INFINITE State=UP
""")
        gres_conf = f"NodeName={self.host} Name=gpu File=/dev/null\n" if self.gpus else ""
        self.gres_conf.write_text(f"{MARKER}\n{gres_conf}")

    def remove_config(self) -> None:
        for path in (self.conf, self.gres_conf):
            if path.exists() and self._ours(path):
                path.unlink()

    # ---------------------------------------------------------------- processes
    def _spawn(self, name: str, cmd: list[str], **kwargs) -> None:
        log = open(self.log_dir / f"{name}.out", "ab")
        self.procs[name] = subprocess.Popen(cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True,
                                            **kwargs)
        log.close()
        self._record_pids()

    def _record_pids(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.pid_file.write_text("".join(f"{n} {p.pid}\n" for n, p in self.procs.items()))

    def _run(self, *cmd: str, timeout: int = 20) -> subprocess.CompletedProcess:
        return subprocess.run(list(cmd), env=self.env, capture_output=True, text=True,
                              timeout=timeout)

    def _wait(self, what: str, check, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise SlurmError(f"{name} exited ({proc.returncode}) while waiting for {what}"
                                     f"\n{self.logs()}")
            try:
                if check():
                    return
            except (subprocess.SubprocessError, OSError):
                pass
            time.sleep(0.3)
        raise SlurmError(f"timed out after {timeout}s waiting for {what}\n{self.logs()}")

    def _acquire(self, timeout: float) -> None:
        """One test cluster per root (and per host: fixed ports) at a time; wait for the other."""
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = open(self.root / "lock", "w")
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise SlurmError(f"another test cluster is using {self.root}") from None
                time.sleep(2)

    def _release(self) -> None:
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    def stop_leftovers(self) -> None:
        """Stop daemons that an earlier, killed test session started from this same root (the
        lock is ours, so no live session is using them)."""
        if not self.pid_file.exists():
            return
        for line in self.pid_file.read_text().split("\n"):
            if not line.strip():
                continue
            name, pid = line.split()
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            # only a PID from our file that still runs that daemon (with our config)
            if name in cmdline and (name == "munged" or str(self.conf) in cmdline):
                _terminate_pid(int(pid))
        self.pid_file.unlink()

    def start(self, timeout: float = 60) -> None:
        if os.geteuid() != 0:
            raise SlurmError("a test SLURM needs root (daemons run as root, munge as munge)")
        self._acquire(timeout=900)
        self.stop_leftovers()
        for sub in ("ctld", "slurmd", "log"):
            shutil.rmtree(self.root / sub, ignore_errors=True)  # no DRAIN state from earlier runs
        self.write_config()
        if self._run("munge", "-n").returncode != 0:
            key = Path("/etc/munge/munge.key")
            if not key.exists() and _which("mungekey"):
                subprocess.run([_which("mungekey"), "--create"], check=True, capture_output=True)
                shutil.chown(key, "munge", "munge")
            run_dir = Path("/run/munge")
            run_dir.mkdir(parents=True, exist_ok=True)
            shutil.chown(run_dir, "munge", "munge")
            self._spawn("munged", [_which("munged"), "--foreground"], user="munge", group="munge",
                        extra_groups=[])
            self._wait("munged", lambda: self._run("munge", "-n").returncode == 0, 20)
        self._spawn("slurmctld", [_which("slurmctld"), "-D", "-f", str(self.conf)])
        self._wait("slurmctld", lambda: self._run("scontrol", "ping").stdout.count("UP") > 0,
                   timeout)
        self._spawn("slurmd", [_which("slurmd"), "-D", "-f", str(self.conf)])
        self._wait("an idle node",
                   lambda: self._run("sinfo", "-h", "-o", "%t").stdout.strip() == "idle", timeout)

    def stop(self) -> None:
        for name in ("slurmd", "slurmctld", "munged"):
            proc = self.procs.pop(name, None)
            if proc is None:
                continue
            if proc.poll() is None:
                _terminate_pid(proc.pid)
            proc.wait(timeout=5)
        if self.pid_file.exists():
            self.pid_file.unlink()
        if self._lock is not None:
            self.remove_config()
        self._release()

    def __enter__(self) -> "SlurmCluster":
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---------------------------------------------------------------- inspection
    def logs(self, tail: int = 3000) -> str:
        parts = []
        for path in sorted(self.log_dir.glob("*")):
            text = path.read_text(errors="replace")[-tail:]
            parts.append(f"--- {path.name}\n{text}")
        return "\n".join(parts)

    def jobs(self) -> list[dict[str, str]]:
        """Every job slurmctld still remembers (MinJobAge=600), as `scontrol show job` fields."""
        out = self._run("scontrol", "show", "job", "-o").stdout
        jobs = []
        for line in out.splitlines():
            if not line.startswith("JobId="):
                continue
            fields = dict(re.findall(r"(\w[\w:/]*)=(\S*)", line))
            jobs.append(fields)
        return jobs


def _terminate_pid(pid: int, grace: float = 5) -> None:
    """SIGTERM a daemon started here (and its own process group: the daemons are started in a
    new session, so the group holds only them and what they forked), then SIGKILL if it lingers."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        if _is_zombie(pid):
            return
        time.sleep(0.1)
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True
