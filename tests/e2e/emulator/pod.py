"""Pod: sandbox (netns.py), volumes (volumes.py), hosts file, containers (container.py), and a
supervisor thread running the probes and restarting containers per restartPolicy."""

from __future__ import annotations

import pathlib
import secrets
import threading
import time
from typing import TYPE_CHECKING

from . import netns
from .container import Container
from .errors import HarnessError
from .manifests import ManifestError
from .process import ExecResult
from .volumes import VolumeSet

if TYPE_CHECKING:
    from .cluster import Cluster


class Pod:
    """One pod: sandbox, volumes, hosts file, containers, and a supervisor thread running the
    probes and restarting containers per restartPolicy."""

    def __init__(self, cluster: Cluster, *, name: str, namespace: str, spec: dict,
                 labels: dict, owner: tuple[str, str], ordinal: int, hostname: str,
                 subdomain: str | None, claims: dict[str, pathlib.Path]):
        self.cluster = cluster
        self.name, self.namespace, self.spec = name, namespace, spec
        self.labels, self.owner, self.ordinal = labels, owner, ordinal
        self.hostname, self.subdomain = hostname, subdomain
        self.uid = secrets.token_hex(8)
        self.restart_policy = spec.get("restartPolicy", "Always")
        self.grace = float(spec.get("terminationGracePeriodSeconds", 30))
        seq = cluster.next_seq()
        self.dir = cluster.dir / "pods" / f"{seq:03d}-{namespace}-{name}"
        self.log_dir = cluster.log_dir / f"{seq:03d}-{namespace}-{name}"
        self.dir.mkdir(parents=True)
        self.log_dir.mkdir(parents=True)
        self.claims = claims
        self.sandbox: netns.Sandbox | None = None
        self.ip: str | None = None
        self.deleted = False
        # Containers see an empty /tmp and /run, as in an image, except the test client,
        # which runs the tests' scripts with this Python wherever they are.
        self.shows_host_tmp = owner[0] == "TestClient"
        self.phase = "Pending"
        self.started_at: float | None = None
        self._stop = threading.Event()
        self.lock = threading.Lock()  # one container state change at a time
        self._thread: threading.Thread | None = None
        self.volumes = VolumeSet(self)
        self.containers = [Container(self, c) for c in spec["containers"]]
        for kind in ("initContainers", "ephemeralContainers"):
            if spec.get(kind):
                raise ManifestError(f"pod {name}: {kind} are not emulated")

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        self.prepare()
        self.cluster.refresh_dns()
        self.run()

    def prepare(self) -> None:
        """Sandbox and volumes: what exists before any container starts."""
        self.sandbox = netns.Sandbox(self.cluster.runtime.network, self.name)
        self.ip = self.sandbox.ip
        self.volumes.materialize()

    def run(self) -> None:
        """Start the containers and the supervisor."""
        self.started_at = time.monotonic()
        self.cluster.event(f"pod {self.namespace}/{self.name} started with IP {self.ip}")
        for c in self.containers:
            c.start()
        self.phase = "Running"
        self._thread = threading.Thread(target=self._supervise, name=f"pod-{self.name}",
                                        daemon=True)
        self._thread.start()

    def _supervise(self) -> None:
        while not self._stop.is_set():
            changed = False
            for c in self.containers:
                with self.lock:
                    changed |= c.tick()
            if self.restart_policy != "Always" and all(c.finished for c in self.containers):
                ok = all(c.last_exit == 0 for c in self.containers)
                self.phase = "Succeeded" if ok else "Failed"
                changed = True
                self._stop.set()
            if changed and not self.deleted:
                self.cluster.refresh_dns()
            self._stop.wait(0.1)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def _join_supervisor(self) -> None:
        if self._thread and self._thread is not threading.current_thread():
            self._thread.join(timeout=60)
            if self._thread.is_alive():
                raise HarnessError(f"the supervisor of pod {self.name} does not stop")

    def terminate(self, grace: float | None = None) -> None:
        """Graceful: preStop hooks, SIGTERM to each container's first process, SIGKILL at the
        end of the grace period, then remove the sandbox."""
        grace = self.grace if grace is None else grace
        self._stop.set()
        self._join_supervisor()  # a probe in flight finishes within its timeout
        deadline = time.monotonic() + grace
        # The kubelet stops a pod's containers in parallel, each with its own preStop first:
        # a sidecar without a hook gets SIGTERM while the main container's hook still runs.
        stoppers = [threading.Thread(target=c.stop_gracefully, args=(deadline,),
                                     name=f"stop {self.name}/{c.name}") for c in self.containers]
        for t in stoppers:
            t.start()
        for t in stoppers:
            t.join(timeout=max(0.0, deadline - time.monotonic()) + 5)
        self.kill()

    def kill(self) -> None:
        """SIGKILL every process in the pod's network namespace at once (containers, probes,
        exec sessions), then remove the sandbox."""
        self._stop.set()
        if self.sandbox:
            netns.kill_netns_processes(self.sandbox.netns)
        self._join_supervisor()
        if self.sandbox:  # again: a restart may have slipped in before the supervisor stopped
            netns.kill_netns_processes(self.sandbox.netns)
        for c in self.containers:
            c.kill()
            c.finished = True
        if self.sandbox:
            self.sandbox.destroy()
        if self.phase in ("Pending", "Running"):
            self.phase = "Terminated"

    # -- state --------------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        return (self.phase == "Running" and not self.deleted
                and all(c.running and c.ready for c in self.containers))

    def exit_codes(self) -> list[int]:
        return [c.last_exit for c in self.containers if c.last_exit is not None]

    def restart_count(self) -> int:
        return sum(c.restarts for c in self.containers)

    def container(self, name: str | None = None) -> Container:
        if name is None:
            return self.containers[0]
        return next(c for c in self.containers if c.name == name)

    def exec(self, argv: list[str], timeout: float = 30, container: str | None = None,
             env: dict[str, str] | None = None, input: str | None = None) -> ExecResult:
        """`kubectl exec`: run ARGV in a container's namespaces, root dir, user and env."""
        return self.container(container).exec(argv, timeout, env, input)

    def spawn(self, argv: list[str], container: str | None = None,
              env: dict[str, str] | None = None, **streams):
        """`kubectl exec -i` left running in a container (Container.spawn)."""
        return self.container(container).spawn(argv, env, **streams)

    def write_hosts(self, content: str) -> None:
        path = self.dir / "etc-hosts"
        if path.exists():
            with open(path, "r+") as f:
                if f.read() == content:
                    return
                # Same inode: containers see it through a bind mount. New text first, then
                # truncate, so a concurrent reader never meets an empty file.
                f.seek(0)
                f.write(content)
                f.truncate()
        else:
            path.write_text(content)
            path.chmod(0o644)

    def log_text(self, tail: int | None = None) -> str:
        parts = [f"== pod {self.namespace}/{self.name} ip={self.ip} phase={self.phase} "
                 f"restarts={self.restart_count()} exit={self.exit_codes()} =="]
        for c in self.containers:
            # The log interleaves the container's output with `[kubelet]` event lines.
            parts.append(f"-- container {c.name} ({c.log_path}) --")
            parts.append(_tail(c.log_path, tail))
        return "\n".join(parts)


def _tail(path: pathlib.Path, lines: int | None) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return "(no log)"
    if lines is None:
        return text
    return "\n".join(text.splitlines()[-lines:])
