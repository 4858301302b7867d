"""`kubectl apply` of a later render onto running objects, and what the controllers then do:

  * objects are matched by kind, namespace and name: new ones are created, changed ones
    replaced, objects missing from the new render left alone (no pruning);
  * what the API server refuses is an apply error (ApplyError): StatefulSet fields other than
    replicas, template, updateStrategy, minReadySeconds, ordinals and the PVC retention
    policy (so selector, serviceName, volumeClaimTemplates, podManagementPolicy); a Job's
    template; a PersistentVolume's source. Like `kubectl apply`, the accepted objects are
    applied anyway and the refused ones named;
  * the kubelet: ConfigMap and Secret volumes of running pods get the new content through the
    `..data` swap (volumes.py); subPath mounts and environment variables keep what the
    container started with;
  * the Job controller: a Job with a new name starts at once, in a thread, concurrently with
    everything else;
  * the StatefulSet controller, per StatefulSet: scale first (missing ordinals created,
    ordinals beyond `replicas` deleted, highest first), then, when the pod template changed
    and the strategy is RollingUpdate, roll from the highest ordinal down to `partition`,
    one pod at a time: graceful deletion (preStop, SIGTERM, SIGKILL at the grace period),
    `Settings.recreate_delay` (scheduling and image pull), the pod again from the new
    template with a new IP and the same claims, and a wait until it is Ready (bounded by
    `Settings.rollout_ready_timeout`; the rollout fails with a report if it never is) before
    the next one. OnDelete rolls nothing: pods get the new template when they are recreated.

A Rollout records a timeline per replaced pod (deleted, stopped, started, Ready; monotonic
and wall clock) and, when the caller passes `role_of`, what that callback said about the pod
just before its deletion (the emulator has no idea what a role is).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
import time
from typing import TYPE_CHECKING, Callable

from . import jobs
from .errors import HarnessError
from .manifests import Key

if TYPE_CHECKING:
    from .cluster import Cluster
    from .pod import Pod

# StatefulSet spec fields the API server lets an update change; any other is forbidden.
STATEFULSET_MUTABLE = frozenset({"replicas", "template", "updateStrategy", "minReadySeconds",
                                 "ordinals", "persistentVolumeClaimRetentionPolicy"})
REVISION_LABEL = "controller-revision-hash"


class ApplyError(HarnessError):
    """Objects the API server would refuse. The others were applied; ROLLOUT tracks what they
    set in motion (wait for it before going on)."""

    def __init__(self, refusals: list[str], rollout: Rollout):
        self.refusals = refusals
        self.rollout = rollout
        super().__init__("kubectl apply would fail: the API server refuses "
                         + "; ".join(refusals))


def revision(sts_name: str, template: dict) -> str:
    """The name of a template's ControllerRevision (a hash of the template, as the
    controller's `controller-revision-hash` label)."""
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()
    return f"{sts_name}-{digest[:10]}"


def refusal(key: Key, old: dict, new: dict) -> str | None:
    """Why the API server would refuse replacing OLD by NEW, or None."""
    if key.kind == "StatefulSet":
        o, n = old.get("spec") or {}, new.get("spec") or {}
        fields = sorted(f for f in set(o) | set(n)
                        if f not in STATEFULSET_MUTABLE and o.get(f) != n.get(f))
        if fields:
            return (f"{key}: spec.{', spec.'.join(fields)}: Forbidden: updates to statefulset "
                    f"spec for fields other than {sorted(STATEFULSET_MUTABLE)} are forbidden")
    if key.kind == "Job":
        o, n = (old.get("spec") or {}).get("template"), (new.get("spec") or {}).get("template")
        if o != n:
            return f"{key}: spec.template: Invalid value: field is immutable"
    if key.kind == "PersistentVolume":
        o, n = _pv_source(old), _pv_source(new)
        if o != n:
            return f"{key}: spec.persistentvolumesource: Forbidden: spec.persistentvolumesource " \
                   f"is immutable after creation"
    return None


def _pv_source(pv: dict) -> dict:
    not_source = {"capacity", "accessModes", "claimRef", "persistentVolumeReclaimPolicy",
                  "storageClassName", "mountOptions", "volumeMode", "nodeAffinity",
                  "volumeAttributesClassName"}
    return {k: v for k, v in (pv.get("spec") or {}).items() if k not in not_source}


class Stamp:
    """A moment on both clocks: monotonic (for durations, comparable with any process on this
    host) and wall (for logs)."""

    __slots__ = ("mono", "wall")

    def __init__(self) -> None:
        self.mono, self.wall = time.monotonic(), time.time()

    def as_dict(self) -> dict:
        return {"mono": round(self.mono, 3),
                "wall": time.strftime("%H:%M:%S", time.localtime(self.wall))
                + f".{int(self.wall * 1000) % 1000:03d}"}


@dataclasses.dataclass
class PodUpdate:
    """One pod replaced by the StatefulSet controller."""

    statefulset: str
    pod: str
    ordinal: int
    old_ip: str | None
    role: object = None          # what role_of said just before the deletion
    new_ip: str | None = None
    deleted: Stamp | None = None  # deletion requested (preStop starts)
    stopped: Stamp | None = None  # every process gone, sandbox removed
    started: Stamp | None = None  # the new pod's containers started
    ready: Stamp | None = None    # the new pod Ready

    def down_window(self, until: float | None = None) -> tuple[float, float]:
        """(deleted, Ready) on the monotonic clock; UNTIL when it never got Ready."""
        end = self.ready.mono if self.ready else (until or time.monotonic())
        return self.deleted.mono if self.deleted else end, end

    def as_dict(self) -> dict:
        out = {"statefulset": self.statefulset, "pod": self.pod, "ordinal": self.ordinal,
               "old_ip": self.old_ip, "new_ip": self.new_ip, "role": self.role}
        for f in ("deleted", "stopped", "started", "ready"):
            s = getattr(self, f)
            out[f] = s.as_dict() if s else None
        return out

    def __str__(self) -> str:
        def at(s: Stamp | None) -> str:
            return f"{s.mono - self.deleted.mono:+.1f}s" if s and self.deleted else "-"
        return (f"{self.pod} ({self.role}) {self.old_ip} -> {self.new_ip}: stopped {at(self.stopped)}"
                f", started {at(self.started)}, Ready {at(self.ready)}")


class Rollout:
    """What one apply set in motion: the StatefulSet controllers' work and the Jobs it
    started, each in a thread. `wait()` joins them."""

    def __init__(self, cluster: Cluster, role_of: Callable[[Pod], object] | None = None):
        self.cluster = cluster
        self.role_of = role_of
        self.changes: list[str] = []      # `kubectl apply` output: "Kind ns/name created"
        self.updates: list[PodUpdate] = []
        self.jobs: dict[str, jobs.JobResult | None] = {}
        self.job_started: dict[str, Stamp] = {}
        self.errors: list[str] = []
        self.started = Stamp()
        self.finished: Stamp | None = None
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    # -- bookkeeping --------------------------------------------------------------------------

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        def run() -> None:
            try:
                target()
            except Exception as e:  # reported by wait()
                with self._lock:
                    self.errors.append(f"{name}: {type(e).__name__}: {e}")
        t = threading.Thread(target=run, name=f"rollout-{name}", daemon=True)
        self._threads.append(t)
        t.start()

    def stop(self, timeout: float) -> None:
        """The cluster is closing: give the threads TIMEOUT seconds to notice."""
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))

    @property
    def done(self) -> bool:
        return all(not t.is_alive() for t in self._threads)

    def wait(self, timeout: float) -> Rollout:
        """Join every controller thread (a Job's too), within TIMEOUT seconds overall; raise
        HarnessError with the timeline when one failed or is still running."""
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        if not self.done:
            raise HarnessError(f"rollout not finished within {timeout:.0f}s\n{self.report()}")
        if self.finished is None:
            self.finished = Stamp()
        if self.errors:
            raise HarnessError("rollout failed: " + "\n".join(self.errors)
                               + f"\n{self.report()}")
        return self

    @property
    def seconds(self) -> float | None:
        """From the apply to the last pod Ready (or the end, when nothing rolled)."""
        ends = [u.ready.mono for u in self.updates if u.ready]
        if ends:
            return round(max(ends) - self.started.mono, 1)
        return round(self.finished.mono - self.started.mono, 1) if self.finished else None

    def timeline(self) -> list[dict]:
        return [u.as_dict() for u in self.updates]

    def report(self) -> str:
        lines = ["apply: " + ", ".join(self.changes)]
        lines += [f"  {u}" for u in self.updates]
        for name, r in self.jobs.items():
            lines.append(f"  Job {name}: {'running' if r is None else r.reason}")
        lines += [f"  ERROR {e}" for e in self.errors]
        return "\n".join(lines)

    # -- the Job controller -------------------------------------------------------------------

    def start_job(self, name: str, namespace: str) -> None:
        self.jobs[name] = None

        def run() -> None:
            self.job_started[name] = Stamp()
            self.jobs[name] = jobs.run_job(self.cluster, name, namespace)
        self._spawn(f"Job {name}", run)

    # -- the StatefulSet controller -----------------------------------------------------------

    def start_statefulset(self, namespace: str, name: str, old_template: dict | None) -> None:
        self._spawn(f"StatefulSet {name}", lambda: self._reconcile(namespace, name, old_template))

    def _reconcile(self, ns: str, name: str, old_template: dict | None) -> None:
        cl = self.cluster
        sts = cl.store.get("StatefulSet", ns, name)
        spec = sts["spec"]
        replicas = int(spec.get("replicas", 1))
        parallel = spec.get("podManagementPolicy", "OrderedReady") == "Parallel"
        strategy = spec.get("updateStrategy") or {}
        on_delete = strategy.get("type", "RollingUpdate") == "OnDelete"
        partition = int((strategy.get("rollingUpdate") or {}).get("partition", 0))
        if old_template is not None and old_template != spec["template"]:
            # The current revision (what ordinals below a partition keep, and are recreated
            # from) stays the one the pods had before, until every pod is updated.
            cl.keep_current_template(ns, name, old_template)
        # 1. Scale: create what is missing, delete ordinals beyond replicas (highest first).
        have = {p.ordinal: p for p in cl.statefulset_pods(name, ns)}
        missing = [i for i in range(replicas) if i not in have]
        if missing:
            cl.event(f"statefulset {ns}/{name}: creating ordinals {missing}")
            if parallel:
                cl.start_statefulset_ordinals(sts, missing)
            else:
                for i in missing:
                    pod = cl.start_statefulset_ordinals(sts, [i])[0]
                    self._wait_ready(pod)
        extra = sorted((o for o in have if o >= replicas), reverse=True)
        if extra:
            cl.event(f"statefulset {ns}/{name}: scaling down, deleting ordinals {extra}")
            if parallel:
                ts = [threading.Thread(target=cl.delete_pod, args=(have[o],)) for o in extra]
                for t in ts:
                    t.start()
                for t in ts:
                    t.join()
            else:
                for o in extra:
                    cl.delete_pod(have[o])
        # 2. Roll: every pod from `partition` up whose revision is not the template's.
        update_rev = revision(name, spec["template"])
        if on_delete:
            cl.event(f"statefulset {ns}/{name}: updateStrategy OnDelete: pods get "
                     f"{update_rev} when they are deleted")
            return
        stale = [p for p in cl.statefulset_pods(name, ns)
                 if p.ordinal >= partition and p.labels.get(REVISION_LABEL) != update_rev]
        if not stale:
            return
        cl.event(f"statefulset {ns}/{name}: rolling to {update_rev} from the highest "
                 f"ordinal down to {partition}")
        for ordinal in range(replicas - 1, partition - 1, -1):
            pod = cl.statefulset_pod(name, ordinal, ns)
            if pod is None:  # deleted meanwhile: create it at the update revision
                pod = cl.start_statefulset_ordinals(sts, [ordinal])[0]
            elif pod.labels.get(REVISION_LABEL) != update_rev:
                self._replace(sts, pod)
                continue
            self._wait_ready(pod)  # the controller moves on only past Ready pods
        if partition == 0:
            cl.keep_current_template(ns, name, None)

    def _replace(self, sts: dict, pod: Pod) -> None:
        cl = self.cluster
        u = PodUpdate(sts["metadata"]["name"], pod.name, pod.ordinal, pod.ip)
        with self._lock:
            self.updates.append(u)
        if self.role_of is not None:
            try:
                u.role = self.role_of(pod)
            except Exception as e:  # the caller's probe failing must not stop the controller
                u.role = f"unknown ({type(e).__name__}: {e})"
        u.deleted = Stamp()
        cl.delete_pod(pod)
        u.stopped = Stamp()
        time.sleep(cl.settings.recreate_delay)  # scheduling and image pull
        if cl.closed:
            raise HarnessError(f"cluster closed during the rollout, before {pod.name} came back")
        new = cl.start_statefulset_ordinals(sts, [pod.ordinal])[0]
        u.started, u.new_ip = Stamp(), new.ip
        self._wait_ready(new)
        u.ready = Stamp()
        cl.event(f"rollout: {u}")

    def _wait_ready(self, pod: Pod) -> None:
        timeout = self.cluster.settings.rollout_ready_timeout
        deadline = time.monotonic() + timeout
        while not pod.ready:
            if self.cluster.closed:
                raise HarnessError(f"cluster closed while waiting for {pod.name} to get Ready")
            if time.monotonic() > deadline:
                raise HarnessError(
                    f"{pod.namespace}/{pod.name} never got Ready within {timeout:.0f}s of its "
                    f"start; the StatefulSet controller stops the rollout there\n"
                    f"{pod.log_text(tail=40)}")
            if pod.deleted:
                raise HarnessError(f"{pod.namespace}/{pod.name} was deleted while the "
                                   f"rollout waited for it to get Ready")
            time.sleep(0.1)
