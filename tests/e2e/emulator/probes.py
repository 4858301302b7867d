"""Container probes as the kubelet's prober runs them: exec probes in the container's
namespaces as its user, tcpSocket probes from the pod's network namespace; startup gates
liveness and readiness, liveness failures restart the container."""

from __future__ import annotations

import dataclasses
import sys
import time
from typing import TYPE_CHECKING

from .images import IMAGE_PATH
from .manifests import ManifestError, Probe
from .process import ExecResult, run_with_deadline

if TYPE_CHECKING:
    from .container import Container

KINDS = ("startup", "liveness", "readiness")


@dataclasses.dataclass
class ProbeState:
    probe: Probe
    next_due: float
    failures: int = 0
    successes: int = 0
    passed: bool = False


def container_probes(who: str, spec: dict) -> dict[str, Probe]:
    """The probes of a container SPEC, refusing handlers that are not emulated."""
    probes = {kind: Probe(kind, spec[f"{kind}Probe"])
              for kind in KINDS if spec.get(f"{kind}Probe")}
    for p in probes.values():
        if not any(k in p.spec for k in ("exec", "tcpSocket")):
            raise ManifestError(f"{who}: only exec and tcpSocket probes "
                                f"are emulated, not {p.spec}")
    return probes


def fresh_states(probes: dict[str, Probe]) -> dict[str, ProbeState]:
    """Probe states for a container that just started (initialDelaySeconds from now)."""
    now = time.monotonic()
    return {k: ProbeState(p, now + p.initial_delay) for k, p in probes.items()}


def run_due_probes(c: Container) -> None:
    """Run the probes of C that are due; update its readiness, restart it when the startup or
    liveness probe has failed failureThreshold times."""
    now = time.monotonic()
    startup = c.states.get("startup")
    if startup and not startup.passed:
        if now >= startup.next_due:
            ok = _probe(c, startup)
            if ok:
                startup.passed = True
            elif startup.failures >= startup.probe.failure_threshold:
                c.restart_for("startup probe failed")
        if not startup.passed:
            c.ready = False
            return
    liveness = c.states.get("liveness")
    if liveness and now >= liveness.next_due:
        if not _probe(c, liveness) and liveness.failures >= liveness.probe.failure_threshold:
            c.restart_for("liveness probe failed")
            return
    readiness = c.states.get("readiness")
    if readiness is None:
        c.ready = True
    elif now >= readiness.next_due:
        ok = _probe(c, readiness)
        if ok and readiness.successes >= readiness.probe.success_threshold:
            c.ready = True
        elif not ok and readiness.failures >= readiness.probe.failure_threshold:
            c.ready = False


def _probe(c: Container, state: ProbeState) -> bool:
    p = state.probe
    state.next_due = time.monotonic() + p.period
    timeout = p.timeout + c.pod.cluster.settings.probe_timeout_slack
    if "exec" in p.spec:
        r = c.exec(p.spec["exec"]["command"], timeout)
    else:
        r = _tcp_probe(c, p.spec["tcpSocket"], timeout)
    if r.ok:
        state.failures, state.successes = 0, state.successes + 1
    else:
        state.failures, state.successes = state.failures + 1, 0
        detail = (r.stdout + r.stderr).strip().replace("\n", " | ")[:300]
        c.event(f"{p.kind} probe failed ({state.failures}/{p.failure_threshold}): "
                f"exit {r.code}: {detail}")
    return r.ok


def _tcp_probe(c: Container, spec: dict, timeout: float) -> ExecResult:
    port = spec["port"]
    if isinstance(port, str):
        port = next(p["containerPort"] for p in c.spec.get("ports") or []
                    if p.get("name") == port)
    host = spec.get("host") or c.pod.ip
    code = (f"import socket, sys\ntry: socket.create_connection(({host!r}, {int(port)}), "
            f"timeout={timeout}).close()\nexcept OSError as e: sys.exit(f'tcp {host}:{port}: {{e}}')")
    argv = [*c.pod.sandbox.nsenter_args(), sys.executable, "-c", code]
    return run_with_deadline(argv, {"PATH": IMAGE_PATH}, timeout)
