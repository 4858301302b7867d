"""Container: one container of a pod, its first process (container_init.py in the pod's
namespaces), restarts with backoff, probes (probes.py), exec, graceful stop, crash and kill."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING

from . import dns, probes
from .env import resolve_env
from .errors import HarnessError
from .images import IMAGE_PATH, image_defaults, resolve_links
from .manifests import ManifestError, expand
from .process import ExecResult, killpg, run_with_deadline
from .security import SecurityContext

if TYPE_CHECKING:
    from .pod import Pod

CONTAINER_INIT = pathlib.Path(__file__).resolve().parent / "container_init.py"


class Container:
    """One container of a pod: its process, restarts, probes and logs."""

    def __init__(self, pod: Pod, spec: dict):
        self.pod, self.spec = pod, spec
        self.name = spec["name"]
        self.image = image_defaults(pod.cluster.settings.images, spec.get("image", ""))
        self.log_path = pod.log_dir / f"{self.name}.log"
        self.events: list[str] = []
        self.proc: subprocess.Popen | None = None
        self.restarts = 0
        self.starts = 0
        self.last_exit: int | None = None
        self.finished = False  # terminated and not to be restarted
        self.ready = False
        self.restart_at: float | None = None
        self.env: dict[str, str] = {}
        self._status_path = pod.dir / "containers" / f"{self.name}-0.status"
        self.security = SecurityContext(f"{pod.name}/{self.name}", pod.spec, spec)
        self.user = self.security.user
        self.probes = probes.container_probes(f"{pod.name}/{self.name}", spec)
        self.states: dict[str, probes.ProbeState] = {}

    # -- command ------------------------------------------------------------------------------

    def argv(self) -> list[str]:
        command = self.spec.get("command")
        args = self.spec.get("args")
        if command is None:
            command = [] if args is not None else list(self.image.cmd)
        full = [expand(x, self.env) for x in [*command, *(args or [])]]
        if not full:
            raise ManifestError(f"{self.pod.name}/{self.name}: no command and the image has none")
        return full

    # -- process ------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int:
        if not self.running:
            raise HarnessError(f"{self.pod.name}/{self.name} is not running")
        return self.proc.pid

    def event(self, msg: str) -> None:
        line = f"{time.strftime('%H:%M:%S')} {msg}"
        self.events.append(line)
        with open(self.log_path, "a") as f:
            f.write(f"[kubelet] {line}\n")

    def start(self) -> None:
        if self.pod.stopping and self.proc is not None:
            return  # the pod is going away: no restarts
        self.finished = False
        self.env = resolve_env(self)
        self.starts += 1
        scratch = self.pod.dir / "containers" / f"{self.name}-{self.starts}"
        spec = self._init_spec(scratch)
        self._status_path = pathlib.Path(spec["status_file"])
        spec_path = scratch.with_suffix(".json")
        spec_path.parent.mkdir(parents=True, exist_ok=True)
        spec_path.write_text(json.dumps(spec, indent=1))
        self.event(f"starting (attempt {self.starts}): {spec['argv']}")
        log = open(self.log_path, "ab")
        argv = [*self.pod.sandbox.nsenter_args(), "unshare", "--mount", "--propagation",
                "private", "--", sys.executable, str(CONTAINER_INIT), str(spec_path)]
        # The command's own environment is in the spec; the init process gets a minimal one.
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     env={"PATH": os.environ.get("PATH", IMAGE_PATH)})
        log.close()
        self.ready = False
        self.restart_at = None
        self.states = probes.fresh_states(self.probes)

    def _init_spec(self, scratch: pathlib.Path) -> dict:
        """What container_init.py needs to build this container (see its docstring)."""
        return {
            "scratch": str(scratch),
            "status_file": str(scratch.with_suffix(".status")),
            "empty_dirs": [] if self.pod.shows_host_tmp else ["/tmp", "/run"],
            "symlinks": resolve_links(self.image),
            "passwd": self.security.passwd_entry(self.image),
            "mounts": self._mounts(),
            "read_only_root": self.security.read_only_root,
            "wrapper": self.security.setpriv_wrapper(),
            "cwd": self.spec.get("workingDir") or self.image.workdir,
            "argv": self.argv(),
            "env": self.env,
        }

    def _mounts(self) -> list[dict]:
        """Volume mounts, then what the kubelet and the runtime add: /etc/hosts,
        /etc/resolv.conf, /etc/hostname, and anonymous volumes for the image's VOLUMEs."""
        pod = self.pod
        mounts = pod.volumes.mounts_for(self.spec, self.env)
        targets = {m["target"] for m in mounts}
        for target, src in (("/etc/hosts", pod.dir / "etc-hosts"),
                            ("/etc/resolv.conf", self._resolv_conf()),
                            ("/etc/hostname", self._hostname_file())):
            if target not in targets:
                mounts.append({"source": str(src), "target": target, "read_only": False})
        for path in self.image.volumes:
            if path not in targets:
                anon = pod.dir / "anonymous" / self.name / path.strip("/").replace("/", "_")
                anon.mkdir(parents=True, exist_ok=True)
                pod.volumes.set_ownership(anon, read_only=False)
                if self.user:
                    os.chown(anon, self.user["uid"], self.user["gid"])
                mounts.append({"source": str(anon), "target": path, "read_only": False})
        return mounts

    def _resolv_conf(self) -> pathlib.Path:
        path = self.pod.dir / "resolv.conf"
        if not path.exists():
            path.write_text(dns.resolv_conf(self.pod.namespace,
                                            self.pod.cluster.settings.cluster_domain))
        return path

    def _hostname_file(self) -> pathlib.Path:
        path = self.pod.dir / "hostname"
        path.write_text(self.pod.hostname + "\n")
        return path

    def status(self) -> dict:
        """What container_init reported (e.g. whether the root really is read-only)."""
        try:
            return json.loads(self._status_path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {}

    # -- supervision --------------------------------------------------------------------------

    def tick(self) -> bool:
        """One supervisor step. Returns True when the container's readiness changed."""
        was_ready = self.ready
        if self.proc is not None and self.restart_at is None and not self.finished:
            code = self.proc.poll()
            if code is None:
                if self._status_path.exists():  # probes start once the container is set up
                    probes.run_due_probes(self)
            else:
                self._on_exit(code)
        elif self.restart_at is not None and time.monotonic() >= self.restart_at:
            self.restarts += 1
            self.start()
        return was_ready != self.ready

    def _on_exit(self, code: int, why: str = "") -> None:
        self.last_exit = code
        self.ready = False
        policy = self.pod.restart_policy
        self.event(f"exited with code {code}{why}")
        if self.pod.stopping:
            self.finished = True
        elif policy == "Always" or (policy == "OnFailure" and code != 0):
            s = self.pod.cluster.settings
            delay = min(s.restart_backoff_cap, s.restart_backoff_base * 2 ** self.restarts)
            self.restart_at = time.monotonic() + delay
            self.event(f"restarting in {delay:.1f}s (restartPolicy {policy})")
        else:
            self.finished = True

    def restart_for(self, why: str) -> None:
        """A failed probe: stop the container (grace capped at 30 s) and restart it per the
        pod's restartPolicy."""
        self.event(f"killing: {why}")
        self.stop_gracefully(time.monotonic() + min(self.pod.grace, 30))
        self.kill()
        self._on_exit(self.proc.returncode, f" ({why})")

    # -- exec and stopping --------------------------------------------------------------------

    def _set_up(self, timeout: float = 15.0) -> bool:
        """Wait until the container's first process has entered the pod's network namespace
        and set up its mounts (container_init's status file). Before that, `nsenter --target` enters the
        host's namespaces and root instead: an exec right after the start (a client pod on a
        loaded host) then ran on the host, and its connections to pod IPs met the host's
        egress (an HTTP proxy answered `400 Bad Request`)."""
        deadline = time.monotonic() + timeout
        host_net = os.readlink("/proc/self/ns/net")
        while time.monotonic() < deadline:
            try:
                pid = self.proc.pid
                # container_init runs inside the pod's namespaces and writes the status file
                # once the container's mounts are in place, just before its chroot.
                if (self._status_path.exists()
                        and os.readlink(f"/proc/{pid}/ns/net") != host_net):
                    return True
            except OSError:
                return False  # the process is gone
            time.sleep(0.05)
        return False

    def exec(self, argv: list[str], timeout: float, env: dict[str, str] | None = None,
             input: str | None = None) -> ExecResult:
        if not self.running:
            return ExecResult(-1, "", f"container {self.name} is not running")
        if not self._set_up():
            return ExecResult(-1, "", f"container {self.name} is not set up (its namespaces "
                                      "and mounts) within 15 s")
        full = [shutil.which("nsenter") or "nsenter", f"--target={self.proc.pid}", "--net",
                "--uts", "--mount", "--root", "--wd", "--", *self.security.setpriv_wrapper(),
                *argv]
        return run_with_deadline(full, {**self.env, **(env or {})}, timeout, input)

    def spawn(self, argv: list[str], env: dict[str, str] | None = None,
              stdout=subprocess.PIPE, stderr=subprocess.PIPE) -> subprocess.Popen:
        """`kubectl exec -i` left running: ARGV in the container's namespaces, root, user and
        env, with stdin a pipe. The caller owns the process (its own process group: kill it
        with process.killpg); it dies with the pod."""
        if not self.running or not self._set_up():
            raise HarnessError(f"{self.pod.name}/{self.name} is not running or not set up")
        full = [shutil.which("nsenter") or "nsenter", f"--target={self.proc.pid}", "--net",
                "--uts", "--mount", "--root", "--wd", "--", *self.security.setpriv_wrapper(),
                *argv]
        return subprocess.Popen(full, env={**self.env, **(env or {})}, stdin=subprocess.PIPE,
                                stdout=stdout, stderr=stderr, text=True,
                                start_new_session=True)

    def stop_gracefully(self, deadline: float) -> None:
        """preStop hook (exec), then SIGTERM to the first process; wait until DEADLINE."""
        if not self.running:
            return
        hook = ((self.spec.get("lifecycle") or {}).get("preStop") or {})
        if "exec" in hook:
            left = max(0.5, deadline - time.monotonic())
            r = self.exec(hook["exec"]["command"], left)
            self.event(f"preStop hook exited {r.code}: {(r.stdout + r.stderr).strip()[-3000:]}")
        elif "sleep" in hook:
            time.sleep(min(float(hook["sleep"]["seconds"]), max(0, deadline - time.monotonic())))
        if self.running:
            self.event("SIGTERM")
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        while self.running and time.monotonic() < deadline:
            time.sleep(0.05)

    def crash(self) -> None:
        """SIGKILL the container's processes, as the OOM killer does, and leave the exit to the
        supervisor: under restartPolicy Always it restarts the container in the same pod,
        with the same IP and volumes."""
        with self.pod.lock:
            if self.proc is None or self.proc.poll() is not None:
                raise HarnessError(f"{self.pod.name}/{self.name} is not running")
            self.event("SIGKILL (a crash; the kubelet restarts it)")
            killpg(self.proc.pid, signal.SIGKILL)

    def wait_restarted(self, restarts_before: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.restarts <= restarts_before:
            if time.monotonic() > deadline:
                raise HarnessError(f"{self.pod.name}/{self.name} not restarted within {timeout}s")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL the container's process group and reap its first process."""
        if self.proc is None:
            return
        unreaped = self.proc.returncode is None  # its exit not yet recorded
        if self.proc.poll() is None:
            self.event("SIGKILL")
        killpg(self.proc.pid, signal.SIGKILL)
        try:
            code = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            raise HarnessError(f"{self.pod.name}/{self.name} survives SIGKILL") from None
        if unreaped:
            self.last_exit = code
        self.ready = False
        self.restart_at = None
