"""A one-node Kubernetes emulator for end-to-end tests: runs what manifests describe on real
processes, the way a kubelet and the controllers would, without a container runtime.

Objects are read generically (StatefulSet, Service, ConfigMap, Secret, Job, PersistentVolume,
PersistentVolumeClaim, Pod); nothing here knows redkube's templates. Per pod:
  * a network namespace with a fresh IP on a private bridge, and a UTS namespace (netns.py);
  * volumes on the host: ConfigMap/Secret files (items, defaultMode, fsGroup), emptyDirs, and
    one directory per claim that outlives the pod as a PVC does;
  * an /etc/hosts holding the kubelet entry plus every Service/pod record a cluster DNS would
    serve, rewritten in place as pods come and go or turn ready;
  * per container a private mount namespace with an overlay root (container_init.py), the
    container's uid/gid, env with `$(VAR)` expansion, and its command run as written;
  * exec probes (startup, liveness, readiness), preStop hooks and termination grace.

Typical use:
    rt = Runtime()                       # root only; cleans what a crashed run left behind
    cl = rt.cluster("c1")
    cl.apply(load_documents(folder))     # like kubectl apply
    pods = cl.start_statefulset("redis") # pods of a StatefulSet, honouring podManagementPolicy
    result = cl.run_job("redis-bootstrap-abc12")
    cl.kill_pod(pods[0]); cl.recreate_pod(pods[0].name)
    rt.close()                           # everything gone; logs stay under rt.dir/logs
"""

from __future__ import annotations

import atexit
import dataclasses
import json
import math
import os
import pathlib
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from typing import Callable, Iterable

from manifests import (
    ManifestError,
    ObjectStore,
    Probe,
    configmap_data,
    expand,
    load_documents,
    parse_cpu_millis,
    parse_quantity_bytes,
    secret_data,
    selector_matches,
)
import netns

HERE = pathlib.Path(__file__).resolve().parent
CONTAINER_INIT = HERE / "container_init.py"

# What the emulated "image" provides. The official redis image ships its binaries in
# /usr/local/bin, Debian in /usr/bin: the container root links the former to the latter.
REDIS_BINARIES = ("redis-server", "redis-cli", "redis-sentinel", "redis-benchmark",
                  "redis-check-aof", "redis-check-rdb")
IMAGE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclasses.dataclass(frozen=True)
class ImageDefaults:
    """What an image's Dockerfile would add; the emulator has no images, only this table."""

    workdir: str = "/"
    cmd: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()  # VOLUME paths: anonymous volumes when nothing is mounted
    users: tuple[tuple[int, str], ...] = ()


IMAGES = {
    # docker-library/redis: WORKDIR /data, VOLUME /data, CMD redis-server, user redis (999).
    "redis": ImageDefaults(workdir="/data", cmd=("redis-server",), volumes=("/data",),
                           users=((999, "redis"),)),
}
REQUIRED_TOOLS = ("ip", "unshare", "nsenter", "setpriv", "mount", "umount", "hostname",
                  "redis-server", "redis-cli", "redis-sentinel")


def image_defaults(reference: str) -> ImageDefaults:
    repo = reference.split("@", 1)[0].rsplit("/", 1)[-1].split(":", 1)[0]
    return IMAGES.get(repo, ImageDefaults())


def missing_prerequisites() -> list[str]:
    """Why this machine cannot run the emulator (empty when it can)."""
    problems = []
    if os.geteuid() != 0:
        problems.append("not root (network/mount namespaces need it)")
    problems += [f"`{t}` not found" for t in REQUIRED_TOOLS if shutil.which(t) is None]
    try:
        with open("/proc/filesystems") as f:
            if "overlay" not in f.read():
                problems.append("the kernel has no overlay filesystem")
    except OSError as e:
        problems.append(f"cannot read /proc/filesystems: {e}")
    return problems


class HarnessError(Exception):
    """The emulated cluster did not do what a test waited for."""


def wait_until(predicate: Callable[[], object], timeout: float, what: str,
               interval: float = 0.5, describe: Callable[[], str] | None = None):
    """Poll PREDICATE until it returns something truthy; raise after TIMEOUT seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            detail = f"\n{describe()}" if describe else ""
            raise HarnessError(f"timed out after {timeout:.0f}s waiting for {what}{detail}")
        time.sleep(interval)


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


@dataclasses.dataclass
class ExecResult:
    code: int | None  # None: timed out and killed
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.code == 0


def run_with_deadline(argv: list[str], env: dict[str, str], timeout: float,
                      input: str | None = None) -> ExecResult:
    """Run a command in its own process group; on timeout kill the whole group."""
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.PIPE if input else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(input=input, timeout=timeout)
        return ExecResult(proc.returncode, out, err)
    except subprocess.TimeoutExpired:
        _killpg(proc.pid, signal.SIGKILL)
        try:
            out, err = proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            out, err = "", ""
        return ExecResult(None, out, err + f"\n(timed out after {timeout:.1f}s)")


def _killpg(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


# ---------------------------------------------------------------------------------------------
# Runtime: host-level resources of one harness run.


class Runtime:
    """One harness run: its lock, its bridge, its work dir, and every cluster it made.

    Creating it removes leftovers of earlier runs that died; close() (also run at exit)
    removes every namespace, process and mount of this run. Logs stay in `self.dir / "logs"`.
    """

    def __init__(self, work_dir: pathlib.Path | None = None, settings: Settings | None = None):
        problems = missing_prerequisites()
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
        self.network = netns.Network(self.run_id)
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


# ---------------------------------------------------------------------------------------------
# Cluster: objects plus pods, DNS and controllers.


@dataclasses.dataclass
class JobResult:
    name: str
    succeeded: bool
    reason: str
    exit_codes: list[int]
    seconds: float
    logs: str

    def __str__(self) -> str:
        return (f"Job {self.name}: {'succeeded' if self.succeeded else 'FAILED'} ({self.reason}),"
                f" exit codes {self.exit_codes}, {self.seconds:.1f}s\n{self.logs}")


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

    # -- objects ------------------------------------------------------------------------------

    def apply(self, objects: Iterable[dict] | str | pathlib.Path) -> None:
        if isinstance(objects, (str, pathlib.Path)):
            objects = load_documents(objects)
        self.store.apply(objects)

    def event(self, msg: str) -> None:
        line = f"{time.strftime('%H:%M:%S')} {msg}"
        self.events.append(line)
        with open(self.log_dir / "events.log", "a") as f:
            f.write(line + "\n")

    # -- pods ---------------------------------------------------------------------------------

    def _next_seq(self) -> int:
        with self._dns_lock:  # Jobs may start pods from several threads
            self._pod_seq += 1
            return self._pod_seq

    def _register(self, pod: Pod) -> None:
        key = (pod.namespace, pod.name)
        with self._dns_lock:
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

    def statefulset_pods(self, name: str, namespace: str | None = None) -> list[Pod]:
        ns = namespace or self.settings.default_namespace
        pods = [p for p in self.pods.values()
                if p.namespace == ns and p.owner == ("StatefulSet", name)]
        return sorted(pods, key=lambda p: p.ordinal)

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
        template = spec["template"]
        labels = dict(template.get("metadata", {}).get("labels") or {})
        labels["statefulset.kubernetes.io/pod-name"] = name
        labels["apps.kubernetes.io/pod-index"] = str(ordinal)
        claims = {}
        for tmpl in spec.get("volumeClaimTemplates") or []:
            claim = f"{tmpl['metadata']['name']}-{name}"
            claims[tmpl["metadata"]["name"]] = self._bind_claim(meta["namespace"], claim, tmpl)
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
        root is the host's /), so tests can run scripts from this folder inside it."""
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
                timeout: float | None = None) -> JobResult:
        """Run a Job to completion as the Job controller would: one pod at a time, a new pod
        (restartPolicy Never) or a restarted container (OnFailure) per failure, up to
        backoffLimit; activeDeadlineSeconds (or TIMEOUT, whichever is first) ends it."""
        ns = namespace or self.settings.default_namespace
        job = self.store.get("Job", ns, name)
        spec = job["spec"]
        if int(spec.get("completions", 1)) != 1 or int(spec.get("parallelism", 1)) != 1:
            raise ManifestError(f"Job {name}: only completions=parallelism=1 is emulated")
        backoff_limit = int(spec.get("backoffLimit", 6))
        limits = [t for t in (spec.get("activeDeadlineSeconds"), timeout) if t is not None]
        deadline_s = float(min(limits)) if limits else 3600.0
        start = time.monotonic()
        deadline = start + deadline_s
        template = spec["template"]
        labels = dict(template.get("metadata", {}).get("labels") or {})
        labels["job-name"] = name
        failures, codes, logs, pod = 0, [], [], None
        reason = ""
        while True:
            pod_name = f"{name[:57]}-{secrets.token_hex(3)[:5]}"
            pod = self.start_pod(pod_name, template["spec"], namespace=ns, labels=labels,
                                 owner=("Job", name))
            done = self._wait_job_pod(pod, deadline, backoff_limit)
            self.delete_pod(pod, grace=0)
            codes += pod.exit_codes()
            logs.append(pod.log_text())
            if done == "Succeeded":
                reason = "Complete"
                break
            if done == "deadline":
                reason = f"DeadlineExceeded ({deadline_s:.0f}s)"
                break
            failures += 1
            if done == "restarts" or failures > backoff_limit:
                reason = f"BackoffLimitExceeded ({failures} failed pods)"
                break
            pause = self.settings.job_backoff_base * 2 ** (failures - 1)
            if time.monotonic() + pause >= deadline:
                reason = f"DeadlineExceeded ({deadline_s:.0f}s)"
                break
            time.sleep(pause)
        result = JobResult(name, reason == "Complete", reason, codes,
                           time.monotonic() - start, "\n".join(logs))
        self.event(f"job {ns}/{name}: {reason}, exit codes {codes}")
        return result

    @staticmethod
    def _wait_job_pod(pod: Pod, deadline: float, backoff_limit: int) -> str:
        """Succeeded, Failed, restarts (OnFailure restarts past backoffLimit) or deadline."""
        while time.monotonic() < deadline:
            if pod.phase in ("Succeeded", "Failed"):
                return pod.phase
            if pod.restart_count() > backoff_limit:
                return "restarts"
            time.sleep(0.2)
        return "deadline"

    # -- volumes ------------------------------------------------------------------------------

    def _bind_claim(self, namespace: str, claim: str, spec_holder: dict) -> pathlib.Path:
        """A claim's directory, after the binding checks a PV controller would make.

        Static binding is checked when PersistentVolumes are among the objects: a claim whose
        storage class is "" or a class only those PVs use binds only to a matching PV, and
        stays Pending (an error here) without one. Other classes are provisioned dynamically.
        """
        spec = spec_holder.get("spec") or {}
        sc = spec.get("storageClassName")
        pvs = self.store.list("PersistentVolume")
        static_classes = {(pv["spec"].get("storageClassName") or "") for pv in pvs}
        pre_bound = [pv for pv in pvs
                     if (pv["spec"].get("claimRef") or {}).get("name") == claim
                     and (pv["spec"].get("claimRef") or {}).get("namespace") == namespace]
        if pre_bound:
            pv = pre_bound[0]
            pv_sc = pv["spec"].get("storageClassName") or ""
            if sc is not None and pv_sc != sc:
                raise ManifestError(
                    f"PVC {namespace}/{claim} (class {sc!r}) would stay Pending: "
                    f"PV {pv['metadata']['name']} is pre-bound to it but has class {pv_sc!r}")
        elif sc == "" or (sc is not None and sc in static_classes):
            free = [pv for pv in pvs if not pv["spec"].get("claimRef")
                    and (pv["spec"].get("storageClassName") or "") == (sc or "")]
            if not free:
                refs = [f"{pv['metadata']['name']} -> "
                        f"{(pv['spec'].get('claimRef') or {}).get('namespace')}/"
                        f"{(pv['spec'].get('claimRef') or {}).get('name')}" for pv in pvs]
                raise ManifestError(
                    f"PVC {namespace}/{claim} (class {sc!r}) would stay Pending: no "
                    f"PersistentVolume binds it (no provisioner serves a class used only by "
                    f"static PVs). PVs: {refs}")
        path = self.dir / "claims" / namespace / claim
        path.mkdir(parents=True, exist_ok=True)
        return path

    def claim_dir(self, claim: str, namespace: str | None = None) -> pathlib.Path:
        return self.dir / "claims" / (namespace or self.settings.default_namespace) / claim

    # -- DNS ----------------------------------------------------------------------------------

    def dns_records(self) -> list[tuple[str, str, str]]:
        """(ip, relative name, namespace) for every name a cluster DNS would serve."""
        records = []
        services = self.store.list("Service")
        live = [p for p in list(self.pods.values()) if p.ip and not p.deleted]
        for svc in services:
            ns, sname = svc["metadata"]["namespace"], svc["metadata"]["name"]
            sspec = svc.get("spec") or {}
            headless = sspec.get("clusterIP") == "None"
            publish_all = bool(sspec.get("publishNotReadyAddresses"))
            members = sorted((p for p in live if p.namespace == ns
                              and selector_matches(sspec.get("selector"), p.labels)),
                             key=lambda p: p.name)
            endpoints = [p for p in members if publish_all or p.ready]
            if headless:
                for p in endpoints:
                    records.append((p.ip, sname, ns))
                    if p.subdomain == sname and p.hostname:
                        records.append((p.ip, f"{p.hostname}.{sname}", ns))
            elif endpoints:
                # No kube-proxy here: the Service name points at one endpoint.
                records.append((endpoints[0].ip, sname, ns))
        return records

    def hosts_file(self, reader: Pod, records: list[tuple[str, str, str]]) -> str:
        d = self.settings.cluster_domain
        lines = [
            "# Kubernetes-managed hosts file (emulated by tests/e2e/kubelet.py).",
            "127.0.0.1\tlocalhost",
            "::1\tlocalhost ip6-localhost ip6-loopback",
            "fe00::0\tip6-localnet",
            "fe00::1\tip6-allnodes",
            "fe00::2\tip6-allrouters",
        ]
        if reader.subdomain:
            fqdn = f"{reader.hostname}.{reader.subdomain}.{reader.namespace}.svc.{d}"
            lines.append(f"{reader.ip}\t{fqdn}\t{reader.hostname}")
        else:
            lines.append(f"{reader.ip}\t{reader.hostname}")
        lines.append("# Cluster DNS records (Services, headless pod records).")
        for ip, rel, ns in records:
            names = [f"{rel}.{ns}.svc.{d}", f"{rel}.{ns}.svc", f"{rel}.{ns}"]
            if ns == reader.namespace:  # the bare name resolves only through the own search path
                names.append(rel)
            lines.append(f"{ip}\t{' '.join(names)}")
        return "\n".join(lines) + "\n"

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
        for pod in list(self.pods.values()):
            self._unregister(pod)
            pod.kill()


def _check_selector(sts: dict) -> None:
    spec = sts["spec"]
    labels = spec["template"].get("metadata", {}).get("labels")
    if not selector_matches(spec.get("selector"), labels):
        raise ManifestError(
            f"StatefulSet {sts['metadata']['name']}: selector {spec.get('selector')} does not "
            f"match the template labels {labels} (the API server rejects this)")


# ---------------------------------------------------------------------------------------------
# Pod and Container.


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
        seq = cluster._next_seq()
        self.dir = cluster.dir / "pods" / f"{seq:03d}-{namespace}-{name}"
        self.log_dir = cluster.log_dir / f"{seq:03d}-{namespace}-{name}"
        self.dir.mkdir(parents=True)
        self.log_dir.mkdir(parents=True)
        self.claims = claims
        self.sandbox: netns.Sandbox | None = None
        self.ip: str | None = None
        self.deleted = False
        # Containers see an empty /tmp and /run, as in an image, except the test client,
        # which runs this folder's scripts with this Python wherever they are.
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
        for c in self.containers:
            c.stop_gracefully(deadline)
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


class VolumeSet:
    """A pod's volumes as host directories (what the kubelet's volume plugins set up)."""

    def __init__(self, pod: Pod):
        self.pod = pod
        self.paths: dict[str, pathlib.Path] = {}
        sc = pod.spec.get("securityContext") or {}
        self.fs_group: int | None = sc.get("fsGroup")
        self.on_root_mismatch = sc.get("fsGroupChangePolicy") == "OnRootMismatch"

    def materialize(self) -> None:
        for vol in self.pod.spec.get("volumes") or []:
            self.paths[vol["name"]] = self._materialize(vol)
        for name, path in self.pod.claims.items():
            self.paths[name] = path
            self._set_ownership(path, read_only=False)

    def _materialize(self, vol: dict) -> pathlib.Path:
        name = vol["name"]
        root = self.pod.dir / "volumes" / name
        store, ns = self.pod.cluster.store, self.pod.namespace
        if "configMap" in vol:
            src = vol["configMap"]
            obj = store.find("ConfigMap", ns, src["name"])
            data = configmap_data(obj) if obj else None
            return self._projected(root, src, data, f"ConfigMap {src['name']}")
        if "secret" in vol:
            src = vol["secret"]
            obj = store.find("Secret", ns, src["secretName"])
            data = secret_data(obj) if obj else None
            return self._projected(root, src, data, f"Secret {src['secretName']}")
        if "emptyDir" in vol:
            # medium Memory would be a tmpfs; a plain directory behaves the same for tests.
            root.mkdir(parents=True)
            root.chmod(0o777)
            self._set_ownership(root, read_only=False)
            return root
        if "persistentVolumeClaim" in vol:
            claim = vol["persistentVolumeClaim"]["claimName"]
            pvc = store.get("PersistentVolumeClaim", ns, claim)
            path = self.pod.cluster._bind_claim(ns, claim, pvc)
            self._set_ownership(path, read_only=False)
            return path
        kinds = sorted(set(vol) - {"name"})
        raise ManifestError(f"pod {self.pod.name}: volume {name} of type {kinds} is not emulated")

    def _projected(self, root: pathlib.Path, src: dict, data: dict[str, bytes] | None,
                   what: str) -> pathlib.Path:
        """ConfigMap/Secret files with items, modes and fsGroup, as the atomic writer does."""
        if data is None:
            if src.get("optional"):
                data = {}
            else:
                raise ManifestError(f"pod {self.pod.name}: {what} not found in namespace "
                                    f"{self.pod.namespace} (pod stays ContainerCreating)")
        default_mode = src.get("defaultMode", 0o644)  # the API's default
        items = src.get("items")
        if items is None:
            items = [{"key": k, "path": k} for k in data]
        root.mkdir(parents=True)
        for item in items:
            if item["key"] not in data:
                if src.get("optional"):
                    continue
                raise ManifestError(f"pod {self.pod.name}: {what} has no key {item['key']}")
            path = root / item["path"]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data[item["key"]])
            path.chmod(item.get("mode", default_mode))
        self._set_ownership(root, read_only=True)
        return root

    def _set_ownership(self, root: pathlib.Path, read_only: bool) -> None:
        """fsGroup: group-own everything and grant the group read (and write for writable
        volumes), setgid on directories (kubelet's SetVolumeOwnership)."""
        if self.fs_group is None:
            return
        mask = 0o440 if read_only else 0o660
        st = root.stat()
        dir_mask = mask | 0o2000 | 0o110
        if (self.on_root_mismatch and st.st_gid == self.fs_group
                and st.st_mode & dir_mask == dir_mask):
            return  # fsGroupChangePolicy OnRootMismatch: the root is right, skip the walk
        for path in [root, *root.rglob("*")]:
            if path.is_symlink():
                continue
            os.chown(path, -1, self.fs_group)
            st_mode = path.stat().st_mode
            extra = mask | (0o2000 | 0o110 if path.is_dir() else 0)
            path.chmod((st_mode & 0o7777) | extra)

    def mounts_for(self, container: dict, env: dict[str, str]) -> list[dict]:
        out = []
        for m in container.get("volumeMounts") or []:
            if m["name"] not in self.paths:
                raise ManifestError(f"pod {self.pod.name}: volumeMount {m['name']} has no volume")
            source = self.paths[m["name"]]
            sub = m.get("subPath")
            if m.get("subPathExpr"):
                sub = expand(m["subPathExpr"], env)
            if sub:
                source = source / sub
                if not source.exists():  # the kubelet creates a missing subPath as a directory
                    source.mkdir(parents=True)
            out.append({"source": str(source), "target": m["mountPath"],
                        "read_only": bool(m.get("readOnly"))})
        return out


@dataclasses.dataclass
class ProbeState:
    probe: Probe
    next_due: float
    failures: int = 0
    successes: int = 0
    passed: bool = False


class Container:
    """One container of a pod: its process, restarts, probes and logs."""

    def __init__(self, pod: Pod, spec: dict):
        self.pod, self.spec = pod, spec
        self.name = spec["name"]
        self.image = image_defaults(spec.get("image", ""))
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
        self.user = self._user()
        self.probes = {kind: Probe(kind, spec[f"{kind}Probe"])
                       for kind in ("startup", "liveness", "readiness") if spec.get(f"{kind}Probe")}
        for p in self.probes.values():
            if not any(k in p.spec for k in ("exec", "tcpSocket")):
                raise ManifestError(f"{pod.name}/{self.name}: only exec and tcpSocket probes "
                                    f"are emulated, not {p.spec}")
        self.states: dict[str, ProbeState] = {}

    # -- security context ---------------------------------------------------------------------

    def _sc(self, key: str):
        own = (self.spec.get("securityContext") or {}).get(key)
        if own is not None:
            return own
        return (self.pod.spec.get("securityContext") or {}).get(key)

    def _user(self) -> dict | None:
        uid, gid = self._sc("runAsUser"), self._sc("runAsGroup")
        pod_sc = self.pod.spec.get("securityContext") or {}
        if self._sc("runAsNonRoot") and not uid:
            raise ManifestError(f"{self.pod.name}/{self.name}: runAsNonRoot is set but the "
                                f"container would run as root (CreateContainerConfigError)")
        groups = [g for g in [pod_sc.get("fsGroup"), *(pod_sc.get("supplementalGroups") or [])]
                  if g is not None]
        if uid is None and gid is None and not groups:
            return None
        return {"uid": uid or 0, "gid": gid or 0, "groups": sorted(set(groups))}

    def _setpriv_wrapper(self) -> list[str]:
        """setpriv arguments giving a process the container's identity: uid, gid, groups,
        no_new_privs, capability bounding set. Used for the container's first process and
        for every exec (probes, hooks) alike; empty when there is nothing to change."""
        w = []
        if self.user:
            w += [f"--reuid={self.user['uid']}", f"--regid={self.user['gid']}"]
            groups = ",".join(map(str, self.user["groups"]))
            w += [f"--groups={groups}"] if groups else ["--clear-groups"]
        if self._sc("allowPrivilegeEscalation") is False:
            w.append("--no-new-privs")
        if "ALL" in ((self._sc("capabilities") or {}).get("drop") or []):
            w += ["--inh-caps=-all", "--bounding-set=-all"]
        return ["/usr/bin/setpriv", *w, "--"] if w else []

    # -- environment and command --------------------------------------------------------------

    def resolve_env(self) -> dict[str, str]:
        pod, store = self.pod, self.pod.cluster.store
        env: dict[str, str] = {}
        for src in self.spec.get("envFrom") or []:
            prefix = src.get("prefix", "")
            if "configMapRef" in src:
                ref = src["configMapRef"]
                obj = store.find("ConfigMap", pod.namespace, ref["name"])
                data = configmap_data(obj) if obj else _missing(ref, "ConfigMap", pod)
            else:
                ref = src["secretRef"]
                obj = store.find("Secret", pod.namespace, ref["name"])
                data = secret_data(obj) if obj else _missing(ref, "Secret", pod)
            env.update({prefix + k: v.decode() for k, v in data.items()})
        defined: dict[str, str] = dict(env)
        for e in self.spec.get("env") or []:
            if "valueFrom" in e:
                value = self._value_from(e["name"], e["valueFrom"])
                if value is None:
                    continue
            else:
                # $(VAR) refers to variables defined earlier in the list.
                value = expand(e.get("value", ""), defined)
            defined[e["name"]] = value
        base = {"PATH": IMAGE_PATH, "HOSTNAME": pod.hostname,
                "HOME": "/root" if not self.user or self.user["uid"] == 0 else "/"}
        return {**base, **defined}

    def _value_from(self, name: str, vf: dict) -> str | None:
        pod, store = self.pod, self.pod.cluster.store
        if "fieldRef" in vf:
            return _field_ref(pod, vf["fieldRef"]["fieldPath"])
        if "secretKeyRef" in vf or "configMapKeyRef" in vf:
            kind = "Secret" if "secretKeyRef" in vf else "ConfigMap"
            ref = vf["secretKeyRef"] if kind == "Secret" else vf["configMapKeyRef"]
            obj = store.find(kind, pod.namespace, ref["name"])
            data = (secret_data(obj) if kind == "Secret" else configmap_data(obj)) if obj else None
            if data is None or ref["key"] not in data:
                if ref.get("optional"):
                    return None
                raise ManifestError(f"{pod.name}/{self.name}: env {name}: {kind} "
                                    f"{ref['name']} key {ref['key']} not found")
            return data[ref["key"]].decode()
        if "resourceFieldRef" in vf:
            return _resource_ref(self.spec, vf["resourceFieldRef"])
        raise ManifestError(f"{pod.name}/{self.name}: env {name}: unsupported valueFrom {vf}")

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

    def _event(self, msg: str) -> None:
        line = f"{time.strftime('%H:%M:%S')} {msg}"
        self.events.append(line)
        with open(self.log_path, "a") as f:
            f.write(f"[kubelet] {line}\n")

    def start(self) -> None:
        if self.pod.stopping and self.proc is not None:
            return  # the pod is going away: no restarts
        self.finished = False
        self.env = self.resolve_env()
        self.starts += 1
        scratch = self.pod.dir / "containers" / f"{self.name}-{self.starts}"
        spec = self._init_spec(scratch)
        self._status_path = pathlib.Path(spec["status_file"])
        spec_path = scratch.with_suffix(".json")
        spec_path.parent.mkdir(parents=True, exist_ok=True)
        spec_path.write_text(json.dumps(spec, indent=1))
        self._event(f"starting (attempt {self.starts}): {spec['argv']}")
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
        now = time.monotonic()
        self.states = {k: ProbeState(p, now + p.initial_delay) for k, p in self.probes.items()}

    def _init_spec(self, scratch: pathlib.Path) -> dict:
        """What container_init.py needs to build this container (see its docstring)."""
        symlinks = {f"/usr/local/bin/{b}": shutil.which(b) for b in REDIS_BINARIES
                    if shutil.which(b)}
        return {
            "scratch": str(scratch),
            "status_file": str(scratch.with_suffix(".status")),
            "empty_dirs": [] if self.pod.shows_host_tmp else ["/tmp", "/run"],
            "symlinks": symlinks,
            "passwd": self._passwd_entry(),
            "mounts": self._mounts(),
            "read_only_root": bool(self._sc("readOnlyRootFilesystem")),
            "wrapper": self._setpriv_wrapper(),
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
                pod.volumes._set_ownership(anon, read_only=False)
                if self.user:
                    os.chown(anon, self.user["uid"], self.user["gid"])
                mounts.append({"source": str(anon), "target": path, "read_only": False})
        return mounts

    def _passwd_entry(self) -> dict | None:
        """A passwd/group entry for a non-root uid the image may lack (999 is the redis
        image's `redis` user)."""
        if not self.user or not self.user["uid"]:
            return None
        uid = self.user["uid"]
        return {"uid": uid, "gid": self.user["gid"] or uid,
                "name": dict(self.image.users).get(uid, f"user{uid}"),
                "home": self.image.workdir}

    def _resolv_conf(self) -> pathlib.Path:
        # No nameserver line: lookups of names missing from /etc/hosts fail fast on 127.0.0.1
        # inside the pod's namespace instead of leaving the machine.
        path = self.pod.dir / "resolv.conf"
        if not path.exists():
            ns, d = self.pod.namespace, self.pod.cluster.settings.cluster_domain
            path.write_text(f"search {ns}.svc.{d} svc.{d} {d}\noptions ndots:5 timeout:1 "
                            f"attempts:1\n")
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
                    self._run_due_probes()
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
        self._event(f"exited with code {code}{why}")
        if self.pod.stopping:
            self.finished = True
        elif policy == "Always" or (policy == "OnFailure" and code != 0):
            s = self.pod.cluster.settings
            delay = min(s.restart_backoff_cap, s.restart_backoff_base * 2 ** self.restarts)
            self.restart_at = time.monotonic() + delay
            self._event(f"restarting in {delay:.1f}s (restartPolicy {policy})")
        else:
            self.finished = True

    def _run_due_probes(self) -> None:
        now = time.monotonic()
        startup = self.states.get("startup")
        if startup and not startup.passed:
            if now >= startup.next_due:
                ok = self._probe(startup)
                if ok:
                    startup.passed = True
                elif startup.failures >= startup.probe.failure_threshold:
                    self._restart("startup probe failed")
            if not startup.passed:
                self.ready = False
                return
        liveness = self.states.get("liveness")
        if liveness and now >= liveness.next_due:
            if not self._probe(liveness) and liveness.failures >= liveness.probe.failure_threshold:
                self._restart("liveness probe failed")
                return
        readiness = self.states.get("readiness")
        if readiness is None:
            self.ready = True
        elif now >= readiness.next_due:
            ok = self._probe(readiness)
            if ok and readiness.successes >= readiness.probe.success_threshold:
                self.ready = True
            elif not ok and readiness.failures >= readiness.probe.failure_threshold:
                self.ready = False

    def _probe(self, state: ProbeState) -> bool:
        p = state.probe
        state.next_due = time.monotonic() + p.period
        timeout = p.timeout + self.pod.cluster.settings.probe_timeout_slack
        if "exec" in p.spec:
            r = self.exec(p.spec["exec"]["command"], timeout)
        else:
            r = self._tcp_probe(p.spec["tcpSocket"], timeout)
        if r.ok:
            state.failures, state.successes = 0, state.successes + 1
        else:
            state.failures, state.successes = state.failures + 1, 0
            detail = (r.stdout + r.stderr).strip().replace("\n", " | ")[:300]
            self._event(f"{p.kind} probe failed ({state.failures}/{p.failure_threshold}): "
                        f"exit {r.code}: {detail}")
        return r.ok

    def _tcp_probe(self, spec: dict, timeout: float) -> ExecResult:
        port = spec["port"]
        if isinstance(port, str):
            port = next(p["containerPort"] for p in self.spec.get("ports") or []
                        if p.get("name") == port)
        host = spec.get("host") or self.pod.ip
        code = (f"import socket, sys\ntry: socket.create_connection(({host!r}, {int(port)}), "
                f"timeout={timeout}).close()\nexcept OSError as e: sys.exit(f'tcp {host}:{port}: {{e}}')")
        argv = [*self.pod.sandbox.nsenter_args(), sys.executable, "-c", code]
        return run_with_deadline(argv, {"PATH": IMAGE_PATH}, timeout)

    def _restart(self, why: str) -> None:
        self._event(f"killing: {why}")
        self.stop_gracefully(time.monotonic() + min(self.pod.grace, 30))
        self.kill()
        self._on_exit(self.proc.returncode, f" ({why})")

    # -- exec and stopping --------------------------------------------------------------------

    def exec(self, argv: list[str], timeout: float, env: dict[str, str] | None = None,
             input: str | None = None) -> ExecResult:
        if not self.running:
            return ExecResult(-1, "", f"container {self.name} is not running")
        full = [shutil.which("nsenter") or "nsenter", f"--target={self.proc.pid}", "--net",
                "--uts", "--mount", "--root", "--wd", "--", *self._setpriv_wrapper(), *argv]
        return run_with_deadline(full, {**self.env, **(env or {})}, timeout, input)

    def stop_gracefully(self, deadline: float) -> None:
        """preStop hook (exec), then SIGTERM to the first process; wait until DEADLINE."""
        if not self.running:
            return
        hook = ((self.spec.get("lifecycle") or {}).get("preStop") or {})
        if "exec" in hook:
            left = max(0.5, deadline - time.monotonic())
            r = self.exec(hook["exec"]["command"], left)
            self._event(f"preStop hook exited {r.code}: {(r.stdout + r.stderr).strip()[:300]}")
        elif "sleep" in hook:
            time.sleep(min(float(hook["sleep"]["seconds"]), max(0, deadline - time.monotonic())))
        if self.running:
            self._event("SIGTERM")
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
            self._event("SIGKILL (a crash; the kubelet restarts it)")
            _killpg(self.proc.pid, signal.SIGKILL)

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
            self._event("SIGKILL")
        _killpg(self.proc.pid, signal.SIGKILL)
        try:
            code = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            raise HarnessError(f"{self.pod.name}/{self.name} survives SIGKILL") from None
        if unreaped:
            self.last_exit = code
        self.ready = False
        self.restart_at = None


def _missing(ref: dict, kind: str, pod: Pod) -> dict:
    if ref.get("optional"):
        return {}
    raise ManifestError(f"pod {pod.name}: envFrom {kind} {ref['name']} not found")


def _field_ref(pod: Pod, path: str) -> str:
    simple = {
        "metadata.name": pod.name,
        "metadata.namespace": pod.namespace,
        "metadata.uid": pod.uid,
        "spec.nodeName": "e2e-node",
        "spec.serviceAccountName": pod.spec.get("serviceAccountName", "default"),
        "status.podIP": pod.ip or "",
        "status.podIPs": pod.ip or "",
        "status.hostIP": pod.ip or "",
    }
    if path in simple:
        return simple[path]
    m = re.fullmatch(r"metadata\.(labels|annotations)\['(.+)'\]", path)
    if m:
        source = pod.labels if m.group(1) == "labels" else {}
        return source.get(m.group(2), "")
    raise ManifestError(f"pod {pod.name}: fieldRef {path} is not emulated")


def _resource_ref(container: dict, ref: dict) -> str:
    kind, res = ref["resource"].split(".", 1)
    value = ((container.get("resources") or {}).get(kind) or {}).get(res)
    divisor = ref.get("divisor", "1")
    if res == "cpu":
        millis = parse_cpu_millis(value) if value is not None else 2000  # node allocatable
        return str(math.ceil(millis / parse_cpu_millis(divisor)))
    amount = parse_quantity_bytes(value) if value is not None else 24 * 2**30
    return str(math.ceil(amount / parse_quantity_bytes(divisor)))


def main(argv: list[str]) -> int:
    """`python kubelet.py cleanup`: remove leftovers of dead runs."""
    if argv[1:] == ["cleanup"]:
        for line in netns.cleanup_stale_runs():
            print("removed", line)
        return 0
    print("usage: kubelet.py cleanup", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
