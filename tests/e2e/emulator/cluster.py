"""Cluster: the API objects of one test (what `kubectl apply` stored) and the pods running
them, with what the StatefulSet controller does (pods with stable names and claims, ordered or
parallel, recreated with new IPs), pod deletion, the Job controller (jobs.py) and cluster DNS
(dns.py)."""

from __future__ import annotations

import pathlib
import threading
import time
from typing import TYPE_CHECKING, Callable, Iterable

from . import dns, jobs
from .errors import HarnessError
from .manifests import ManifestError, ObjectStore, load_documents, selector_matches
from .pod import Pod
from .process import wait_until
from .rollout import REVISION_LABEL, ApplyError, Rollout, refusal, revision
from .volumes import bind_claim

if TYPE_CHECKING:
    from .runtime import Runtime, Settings


class Cluster:
    """The API objects of one test and the pods running them."""

    def __init__(self, runtime: Runtime, name: str, settings: Settings):
        self.runtime = runtime
        self.name = name
        self.settings = settings
        self.store = ObjectStore(settings.default_namespace)
        self.dir = runtime.dir / "clusters" / name
        self.log_dir = runtime.dir / "logs" / name
        self.dir.mkdir(parents=True)
        self.log_dir.mkdir(parents=True)
        self.pods: dict[tuple[str, str], Pod] = {}
        self.history: list[Pod] = []  # every pod ever started, for log reports
        self.events: list[str] = []
        self._dns_lock = threading.RLock()
        self._pod_seq = 0
        # StatefulSet (ns, name) -> the template of its current revision while a partitioned
        # rolling update keeps ordinals below the partition on it.
        self._current_templates: dict[tuple[str, str], dict] = {}
        self.rollouts: list[Rollout] = []
        self.closed = False

    # -- objects ------------------------------------------------------------------------------

    def apply(self, objects: Iterable[dict] | str | pathlib.Path) -> None:
        if isinstance(objects, (str, pathlib.Path)):
            objects = load_documents(objects)
        self.store.apply(objects)

    def apply_update(self, objects: Iterable[dict] | str | pathlib.Path,
                     role_of: Callable[[Pod], object] | None = None) -> Rollout:
        """`kubectl apply` of a later render onto what runs (rollout.py): objects diffed by
        kind, namespace and name, ConfigMap/Secret volumes updated in place, new Jobs started,
        StatefulSets scaled and rolled, each in a thread. Returns the Rollout (call
        `wait(timeout)`). ROLE_OF(pod) is asked just before each deletion, for the timeline.
        Raises ApplyError naming what the API server would refuse, after applying the rest
        (as kubectl does)."""
        if isinstance(objects, (str, pathlib.Path)):
            objects = load_documents(objects)
        rollout = Rollout(self, role_of)
        self.rollouts.append(rollout)
        refusals, accepted = [], []
        for obj in objects:
            key, new = self.store.normalize(obj)
            old = self.store.find_key(key)
            if old is None:
                accepted.append((key, None, new))
                rollout.changes.append(f"{key} created")
            elif old == new:
                rollout.changes.append(f"{key} unchanged")
            else:
                why = refusal(key, old, new)
                if why:
                    refusals.append(why)
                    rollout.changes.append(f"{key} REFUSED")
                else:
                    accepted.append((key, old, new))
                    rollout.changes.append(f"{key} configured")
        for key, _, new in accepted:
            self.store.put(key, new)
        self.event("apply: " + ", ".join(rollout.changes))
        # The kubelet: projected ConfigMap/Secret volumes of running pods.
        for key, old, _ in accepted:
            if old is not None and key.kind in ("ConfigMap", "Secret"):
                for pod in self.running_pods():
                    if pod.namespace == key.namespace and pod.phase == "Running":
                        for vol in pod.volumes.refresh(key.kind, key.name):
                            self.event(f"pod {pod.name}: volume {vol} updated ({key})")
        # The Job and StatefulSet controllers.
        for key, old, new in accepted:
            if key.kind == "Job" and old is None:
                rollout.start_job(key.name, key.namespace)
            elif key.kind == "StatefulSet":
                _check_selector(new)
                old_template = old["spec"]["template"] if old is not None else None
                if old is None and not self.statefulset_pods(key.name, key.namespace):
                    rollout.start_statefulset(key.namespace, key.name, None)
                else:
                    rollout.start_statefulset(key.namespace, key.name, old_template)
        if refusals:
            raise ApplyError(refusals, rollout)
        return rollout

    def event(self, msg: str) -> None:
        line = f"{time.strftime('%H:%M:%S')} {msg}"
        self.events.append(line)
        with open(self.log_dir / "events.log", "a") as f:
            f.write(line + "\n")

    # -- pods ---------------------------------------------------------------------------------

    def next_seq(self) -> int:
        with self._dns_lock:  # Jobs may start pods from several threads
            self._pod_seq += 1
            return self._pod_seq

    def _register(self, pod: Pod) -> None:
        key = (pod.namespace, pod.name)
        with self._dns_lock:
            if self.closed:
                raise HarnessError(f"cluster {self.name} is closed: no new pod {pod.name}")
            if key in self.pods:
                raise HarnessError(f"pod {pod.namespace}/{pod.name} already exists")
            self.pods[key] = pod
            self.history.append(pod)

    def pod(self, name: str, namespace: str | None = None) -> Pod:
        ns = namespace or self.settings.default_namespace
        try:
            return self.pods[(ns, name)]
        except KeyError:
            raise HarnessError(f"no pod {ns}/{name}; running: {sorted(self.pods)}") from None

    def running_pods(self) -> list[Pod]:
        """A snapshot of the pods (controller threads add and remove pods meanwhile)."""
        with self._dns_lock:
            return list(self.pods.values())

    def statefulset_pods(self, name: str, namespace: str | None = None) -> list[Pod]:
        ns = namespace or self.settings.default_namespace
        pods = [p for p in self.running_pods()
                if p.namespace == ns and p.owner == ("StatefulSet", name)]
        return sorted(pods, key=lambda p: p.ordinal)

    def statefulset_pod(self, name: str, ordinal: int,
                        namespace: str | None = None) -> Pod | None:
        return next((p for p in self.statefulset_pods(name, namespace)
                     if p.ordinal == ordinal), None)

    def start_statefulset_ordinals(self, sts: dict, ordinals: list[int]) -> list[Pod]:
        """The controller creating pods of STS for ORDINALS (new IPs, their claims), all
        started together; returns without waiting for Ready."""
        pods = [self._statefulset_pod(sts, i) for i in ordinals]
        for p in pods:
            self._register(p)
        self._start_together(pods)
        return pods

    def keep_current_template(self, namespace: str, name: str, template: dict | None) -> None:
        """Record (or with None forget) the template of a StatefulSet's current revision:
        during a partitioned RollingUpdate, ordinals below the partition are created from it.
        An earlier record wins: the current revision is the one before the first change."""
        key = (namespace, name)
        if template is None:
            self._current_templates.pop(key, None)
        else:
            self._current_templates.setdefault(key, template)

    def _template_for(self, sts: dict, ordinal: int) -> dict:
        spec = sts["spec"]
        strategy = spec.get("updateStrategy") or {}
        partition = int((strategy.get("rollingUpdate") or {}).get("partition", 0))
        current = self._current_templates.get((sts["metadata"]["namespace"],
                                               sts["metadata"]["name"]))
        if (current is not None and strategy.get("type", "RollingUpdate") == "RollingUpdate"
                and ordinal < partition):
            return current
        return spec["template"]

    def start_statefulset(self, name: str, namespace: str | None = None,
                          ready_timeout: float = 180) -> list[Pod]:
        """Create the pods of a StatefulSet as its controller would: all at once with
        podManagementPolicy Parallel, else one by one, each waiting for the previous to be
        Ready. Returns once every container has been started (Parallel) or is Ready."""
        sts = self.store.get("StatefulSet", namespace or self.settings.default_namespace, name)
        spec = sts["spec"]
        replicas = int(spec.get("replicas", 1))
        parallel = spec.get("podManagementPolicy", "OrderedReady") == "Parallel"
        _check_selector(sts)
        pods = [self._statefulset_pod(sts, i) for i in range(replicas)]
        if parallel:
            for p in pods:
                self._register(p)
            self._start_together(pods)
        else:
            for p in pods:
                self._register(p)
                self.refresh_dns()
                p.start()
                wait_until(lambda: p.ready, ready_timeout, f"{p.name} Ready (OrderedReady)",
                           describe=lambda: self.logs_report([p]))
        return pods

    def _statefulset_pod(self, sts: dict, ordinal: int) -> Pod:
        meta, spec = sts["metadata"], sts["spec"]
        name = f"{meta['name']}-{ordinal}"
        template = self._template_for(sts, ordinal)
        labels = dict(template.get("metadata", {}).get("labels") or {})
        labels["statefulset.kubernetes.io/pod-name"] = name
        labels["apps.kubernetes.io/pod-index"] = str(ordinal)
        labels[REVISION_LABEL] = revision(meta["name"], template)
        claims = {}
        for tmpl in spec.get("volumeClaimTemplates") or []:
            claim = f"{tmpl['metadata']['name']}-{name}"
            claims[tmpl["metadata"]["name"]] = self.bind_claim(meta["namespace"], claim, tmpl)
        return Pod(self, name=name, namespace=meta["namespace"], spec=template["spec"],
                   labels=labels, owner=("StatefulSet", meta["name"]), ordinal=ordinal,
                   hostname=name, subdomain=spec.get("serviceName"), claims=claims)

    def recreate_pod(self, name: str, namespace: str | None = None) -> Pod:
        """The StatefulSet controller replacing a deleted pod: same name and claims, new IP."""
        return self.recreate_pods([name], namespace)[0]

    def recreate_pods(self, names: list[str], namespace: str | None = None) -> list[Pod]:
        """Recreate deleted StatefulSet pods, all at once (as a Parallel controller would
        after a full stop)."""
        ns = namespace or self.settings.default_namespace
        pods = []
        for name in names:
            old = next((p for p in reversed(self.history)
                        if p.name == name and p.namespace == ns), None)
            if old is None or old.owner[0] != "StatefulSet":
                raise HarnessError(f"{ns}/{name} is not a StatefulSet pod")
            if (ns, name) in self.pods:
                raise HarnessError(f"{ns}/{name} still exists; delete or kill it first")
            sts = self.store.get("StatefulSet", ns, old.owner[1])
            pods.append(self._statefulset_pod(sts, old.ordinal))
        for pod in pods:
            self._register(pod)
        self._start_together(pods)
        return pods

    def _start_together(self, pods: list[Pod]) -> None:
        """Sandboxes and volumes first, then every pod's containers in one go."""
        for p in pods:
            p.prepare()
        self.refresh_dns()
        for p in pods:
            p.run()

    def start_pod(self, name: str, spec: dict, namespace: str | None = None,
                  labels: dict | None = None, owner: tuple[str, str] = ("Pod", "")) -> Pod:
        """A bare pod (also a Job's pod and the test client pod)."""
        ns = namespace or self.settings.default_namespace
        pod = Pod(self, name=name, namespace=ns, spec=spec, labels=labels or {}, owner=owner,
                  ordinal=0, hostname=spec.get("hostname") or name,
                  subdomain=spec.get("subdomain"), claims={})
        self._register(pod)
        self.refresh_dns()
        pod.start()
        return pod

    def client_pod(self, name: str = "e2e-client", namespace: str | None = None) -> Pod:
        """A pod for test clients: root, writable root, the host's Python visible (the overlay
        root is the host's /), so tests can run scripts from their folder inside it."""
        ns = namespace or self.settings.default_namespace
        existing = self.pods.get((ns, name))
        if existing:
            return existing
        spec = {"containers": [{"name": "client", "image": "e2e-client",
                                "command": ["sleep", "86400"]}],
                "terminationGracePeriodSeconds": 0}
        return self.start_pod(name, spec, namespace=ns, labels={"app": "e2e-client"},
                              owner=("TestClient", ""))

    def delete_pod(self, pod: Pod, grace: float | None = None) -> None:
        """Graceful deletion: preStop hooks, SIGTERM, wait the grace period, SIGKILL."""
        self.event(f"delete pod {pod.namespace}/{pod.name} (graceful)")
        self._unregister(pod)
        pod.terminate(grace)

    def kill_pod(self, pod: Pod) -> None:
        """Hard kill: SIGKILL every process of the pod at once (a node dying, an OOM)."""
        self.event(f"kill pod {pod.namespace}/{pod.name} (SIGKILL)")
        self._unregister(pod)
        pod.kill()

    def _unregister(self, pod: Pod) -> None:
        with self._dns_lock:
            self.pods.pop((pod.namespace, pod.name), None)
            pod.deleted = True
        self.refresh_dns()

    # -- jobs ---------------------------------------------------------------------------------

    def job_names(self, namespace: str | None = None) -> list[str]:
        return sorted(j["metadata"]["name"] for j in self.store.list("Job", namespace))

    def run_job(self, name: str, namespace: str | None = None,
                timeout: float | None = None) -> jobs.JobResult:
        """Run a Job to completion as the Job controller would (jobs.run_job)."""
        return jobs.run_job(self, name, namespace, timeout)

    # -- volumes ------------------------------------------------------------------------------

    def bind_claim(self, namespace: str, claim: str, spec_holder: dict) -> pathlib.Path:
        """A claim's directory, after the binding checks a PV controller would make."""
        return bind_claim(self.store, self.dir / "claims", namespace, claim, spec_holder)

    def claim_dir(self, claim: str, namespace: str | None = None) -> pathlib.Path:
        return self.dir / "claims" / (namespace or self.settings.default_namespace) / claim

    # -- DNS ----------------------------------------------------------------------------------

    def dns_records(self) -> list[tuple[str, str, str]]:
        """(ip, relative name, namespace) for every name a cluster DNS would serve."""
        return dns.records(self.store.list("Service"), list(self.pods.values()))

    def hosts_file(self, reader: Pod, records: list[tuple[str, str, str]]) -> str:
        return dns.hosts_file(reader, records, self.settings.cluster_domain)

    def refresh_dns(self) -> None:
        """Rewrite every pod's hosts file in place (bind mounts pin the inode)."""
        with self._dns_lock:
            records = self.dns_records()
            for pod in list(self.pods.values()):
                if pod.ip:
                    pod.write_hosts(self.hosts_file(pod, records))

    # -- reports and teardown -----------------------------------------------------------------

    def logs_report(self, pods: Iterable[Pod] | None = None, lines: int = 60) -> str:
        chosen = list(pods) if pods is not None else self.history
        parts = [f"---- logs of cluster {self.name} (full logs: {self.log_dir}) ----"]
        for p in chosen:
            parts.append(p.log_text(tail=lines))
        if self.events:
            parts.append("-- events --\n" + "\n".join(self.events[-lines:]))
        return "\n".join(parts)

    def close(self) -> None:
        """Kill every pod; controllers still running (rollouts, Jobs) stop at their next
        step, as no pod can be created any more."""
        with self._dns_lock:
            self.closed = True
        for pod in self.running_pods():
            self._unregister(pod)
            pod.kill()
        for r in self.rollouts:
            r.stop(timeout=30)
        for pod in self.running_pods():  # whatever a controller started meanwhile
            self._unregister(pod)
            pod.kill()


def _check_selector(sts: dict) -> None:
    spec = sts["spec"]
    labels = spec["template"].get("metadata", {}).get("labels")
    if not selector_matches(spec.get("selector"), labels):
        raise ManifestError(
            f"StatefulSet {sts['metadata']['name']}: selector {spec.get('selector')} does not "
            f"match the template labels {labels} (the API server rejects this)")
