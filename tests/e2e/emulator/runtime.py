"""Runtime: the host-level resources of one harness run (lock, bridge, work dir), the settings
every cluster starts from, and what the host must provide."""

from __future__ import annotations

import atexit
import dataclasses
import os
import pathlib
import shutil
import tempfile
from typing import Iterable, Mapping

from . import netns
from .cluster import Cluster
from .errors import HarnessError
from .images import ImageDefaults

# What the emulator itself runs on the host. Callers add what their workloads need
# (`Runtime(required_tools=...)`, `missing_prerequisites(...)`).
EMULATOR_TOOLS = ("ip", "unshare", "nsenter", "setpriv", "mount", "umount", "hostname")


def missing_prerequisites(extra_tools: Iterable[str] = ()) -> list[str]:
    """Why this machine cannot run the emulator, or the EXTRA_TOOLS a caller's workloads need
    (empty when it can)."""
    problems = []
    if os.geteuid() != 0:
        problems.append("not root (network/mount namespaces need it)")
    tools = (*EMULATOR_TOOLS, *extra_tools)
    problems += [f"`{t}` not found" for t in tools if shutil.which(t) is None]
    try:
        with open("/proc/filesystems") as f:
            if "overlay" not in f.read():
                problems.append("the kernel has no overlay filesystem")
    except OSError as e:
        problems.append(f"cannot read /proc/filesystems: {e}")
    return problems


@dataclasses.dataclass
class Settings:
    cluster_domain: str = "cluster.local"
    default_namespace: str = "default"
    # CrashLoopBackOff, compressed (a kubelet starts at 10 s and caps at 5 min).
    restart_backoff_base: float = 1.0
    restart_backoff_cap: float = 10.0
    # Job pod backoff after a failed pod (a Job controller uses 10 s, doubling).
    job_backoff_base: float = 2.0
    # Added to every probe's timeoutSeconds: nsenter + setpriv + a shell cost time on 2 cores.
    probe_timeout_slack: float = 2.0
    # The StatefulSet controller's rolling update (rollout.py): the pause between a pod's end
    # and its replacement's start (scheduling and image pull on a real cluster, so that a fast
    # local restart cannot hide a missing hand-over), and how long it waits for a new pod to
    # get Ready before it stops the rollout.
    recreate_delay: float = 3.0
    rollout_ready_timeout: float = 300.0
    # Image defaults by repository name (images.py); an unknown image adds nothing.
    images: Mapping[str, ImageDefaults] = dataclasses.field(default_factory=dict)


class Runtime:
    """One harness run: its lock, its bridge, its work dir, and every cluster it made.

    Creating it removes leftovers of earlier runs that died; close() (also run at exit)
    removes every namespace, process and mount of this run. Logs stay in `self.dir / "logs"`.
    REQUIRED_TOOLS: host commands the workloads need besides the emulator's own. SUBNET: the
    pod addresses of this run (runs in parallel each have their own bridge namespace; distinct
    subnets also keep their logs and addresses apart for a reader).
    """

    def __init__(self, work_dir: pathlib.Path | None = None, settings: Settings | None = None,
                 required_tools: Iterable[str] = (), subnet: str = "10.244.0.0/16"):
        problems = missing_prerequisites(required_tools)
        if problems:
            raise HarnessError("cannot emulate pods here: " + "; ".join(problems))
        self.settings = settings or Settings()
        self.run_id = netns.new_run_id()
        self._lock = netns.RunLock(self.run_id)
        self.stale_removed = netns.cleanup_stale_runs()
        base = work_dir or pathlib.Path(tempfile.gettempdir())
        self.dir = base / f"{netns.PREFIX}-{self.run_id}"
        self.dir.mkdir(parents=True)
        self._prune_old_logs(base)
        self.network = netns.Network(self.run_id, subnet)
        self.clusters: list[Cluster] = []
        self._closed = False
        atexit.register(self.close)

    @staticmethod
    def _prune_old_logs(base: pathlib.Path, keep: int = 5) -> None:
        """Keep the folders (logs) of the last KEEP finished runs; never touch a live run's."""
        runs = [p for p in base.glob(f"{netns.PREFIX}-*") if p.is_dir()
                and not netns.run_is_alive(p.name[len(netns.PREFIX) + 1:])]
        runs.sort(key=lambda p: p.stat().st_mtime)
        for old in runs[:-keep]:
            shutil.rmtree(old, ignore_errors=True)

    def cluster(self, name: str, **overrides) -> Cluster:
        """A new cluster; OVERRIDES replace fields of the runtime's Settings for it."""
        settings = dataclasses.replace(self.settings, **overrides)
        c = Cluster(self, name, settings)
        self.clusters.append(c)
        return c

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        errors = []
        for c in self.clusters:
            try:
                c.close()
            except Exception as e:  # keep going: every resource must be released
                errors.append(f"{c.name}: {e}")
        netns.cleanup_run(self.run_id)
        self.network.destroy()
        self._lock.release()
        if errors:
            raise HarnessError("cleanup errors: " + "; ".join(errors))
