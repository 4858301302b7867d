"""Day 2, scaling (issue 12): a re-render with another pod count applied onto a running
deployment under the continuous writer (day2.Writer), and what the Sentinels then know.

    result = apply_scale(target, objects, "up-5")   # -> ScaleResult (figures)
    views = sentinel_views(target, live_pods)       # each Sentinel's master, lists, quorum

A scale changes only the StatefulSet's replicas and the reconcile Job (the topology file is
left out of the pods' config hash): no pod that existed before may roll, and the apply is
done when the StatefulSet has its new shape and the new Job finished (rollout.wait).
"""

from __future__ import annotations

import dataclasses
import re
import time

from day2 import ROLL_TIMEOUT, WARM_UP, Writer, longest_gap, read_back
from emulator import HarnessError


def rendered_topology(objects: list[dict]) -> dict[str, int]:
    """The `key=value` counts of the rendered ConfigMap's topology file."""
    cm = next(o for o in objects if o["kind"] == "ConfigMap" and "topology" in o.get("data", {}))
    return {k.strip(): int(v) for k, v in
            (line.split("=", 1) for line in cm["data"]["topology"].splitlines()
             if line.strip() and not line.startswith("#"))}


def reconcile_job(objects: list[dict]) -> str:
    return next(o["metadata"]["name"] for o in objects if o["kind"] == "Job")


@dataclasses.dataclass
class ScaleResult:
    step: str
    job: str
    job_started_by_apply: bool     # False: an earlier step had this Job's name (see below)
    earlier_jobs: list[str]        # the Jobs that existed before the apply
    job_reason: str
    seconds_to_shape: float        # the apply to the new shape (the Job done, AT_SHAPE passed)
    job_seconds: float | None
    worst_ack_gap: float           # the longest any lane went without an acknowledged write
    worst_accept_gap: float        # (accepted write), from the apply to the new shape
    ips_before: dict
    ips_after: dict
    acked: list[str]
    lost: list[str]
    errors: dict
    report: str
    job_log: str
    extra: dict                    # what the mode's AT_SHAPE measured

    def figures(self) -> dict:
        return {
            "seconds_to_shape": self.seconds_to_shape,
            "job_seconds": self.job_seconds,
            "job": self.job_reason,
            "job_started_by_apply": self.job_started_by_apply,
            "worst_ack_gap_s": self.worst_ack_gap,
            "worst_accept_gap_s": self.worst_accept_gap,
            "acked": len(self.acked),
            "keys_lost": len(self.lost),
            "errors": dict(sorted(self.errors.items(), key=lambda kv: -kv[1])[:6]),
            **self.extra,
        }


def apply_scale(target, objects: list[dict], step: str, interrupt=None,
                at_shape=None) -> ScaleResult:
    """Apply OBJECTS (a re-render with other counts) under the writer; wait for the new shape
    (the StatefulSet scaled, the new reconcile Job done); stop the writer and read back what it
    acknowledged. INTERRUPT(cluster, job): kills the Job mid-way and runs it again, returning
    the run that counts. AT_SHAPE(): the mode's checks of the new shape, run while the writer
    still writes; returns figures (a dict) or raises."""
    cl = target.cluster
    job = reconcile_job(objects)
    before = {p.name: p.ip for p in cl.statefulset_pods(target.statefulset, target.namespace)}
    earlier_jobs = cl.job_names(target.namespace)
    # Back to a shape seen before, the render is the earlier one, and so is the Job's name (a
    # hash of its spec and script). Kubernetes deletes a finished Job after
    # ttlSecondsAfterFinished (600 s), so the next apply creates it and it runs; the emulator
    # keeps finished Jobs, so that deletion is done here. (An apply within 600 s of the
    # earlier Job's end still finds it and runs nothing: README "Returning to an earlier
    # shape".)
    seen_before = cl.store.delete("Job", target.namespace, job)
    writer = Writer(target, f"scale:{step}")
    writer.start()
    try:
        time.sleep(WARM_UP)
        t_apply = time.monotonic()
        rollout = cl.apply_update(objects, role_of=target.role_of)
        if interrupt is not None:
            result = interrupt(cl, job)
        rollout.wait(ROLL_TIMEOUT)
        if interrupt is None:
            result = rollout.jobs.get(job)
        if result is None or not result.succeeded:
            raise HarnessError(f"{step}: the reconcile Job did not succeed: {result}\n"
                               f"{rollout.report()}")
        extra = at_shape() if at_shape is not None else {}
        t_shape = time.monotonic()
        after = {p.name: p.ip for p in cl.statefulset_pods(target.statefulset, target.namespace)}
        time.sleep(WARM_UP)
    except BaseException:
        writer.kill()
        raise
    record = writer.stop()
    acked = record.keys()
    missing, wrong = read_back(target, acked)
    return ScaleResult(
        step=step, job=job, job_started_by_apply=not seen_before,
        earlier_jobs=earlier_jobs, job_reason=result.reason,
        seconds_to_shape=round(t_shape - t_apply, 1),
        job_seconds=round(result.seconds, 1),
        worst_ack_gap=max(longest_gap(record.times([lane]), t_apply, t_shape)
                          for lane in record.lanes),
        worst_accept_gap=max(longest_gap(record.times([lane], accepted=True), t_apply, t_shape)
                             for lane in record.lanes),
        ips_before=before, ips_after=after, acked=acked, lost=missing + wrong,
        errors=record.errors, report=rollout.report(), job_log=result.logs,
        extra=extra)


# -- what each Sentinel knows ------------------------------------------------------------------


def _entries(text: str) -> list[dict]:
    """A flattened redis-cli reply (key and value lines) as dicts, a new one at each `name`."""
    lines = text.replace("\r", "").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    out: list[dict] = []
    for key, value in zip(lines[::2], lines[1::2]):
        if key == "name" or not out:
            out.append({})
        out[-1][key] = value
    return out


def _sentinel(target, pod_name: str, *args: str) -> str:
    s = target.dep.s
    pod = target.cluster.pod(pod_name, s.namespace)
    r = pod.exec(["redis-cli", "--no-auth-warning", "-p", str(s.sentinel_port), "sentinel",
                  *args], timeout=10, container="sentinel", env={"REDISCLI_AUTH": s.password})
    if not r.ok:
        raise HarnessError(f"SENTINEL {' '.join(args)} on {pod_name}: {r.stdout}{r.stderr}")
    return r.stdout


@dataclasses.dataclass
class SentinelView:
    pod: str
    master: str
    quorum: int
    replicas: dict       # host -> flags
    sentinels: dict      # host -> flags
    ckquorum: str


def sentinel_views(target, pods: list[str]) -> list[SentinelView]:
    s = target.dep.s
    views = []
    for p in pods:
        master = _entries(_sentinel(target, p, "master", s.master_set))
        replicas = _entries(_sentinel(target, p, "replicas", s.master_set))
        sentinels = _entries(_sentinel(target, p, "sentinels", s.master_set))
        if not master or "ip" not in master[0]:
            raise HarnessError(f"SENTINEL MASTER on {p}: {master}")
        views.append(SentinelView(
            pod=p, master=master[0]["ip"], quorum=int(master[0].get("quorum", -1)),
            replicas={e.get("ip"): e.get("flags") for e in replicas},
            sentinels={e.get("ip"): e.get("flags") for e in sentinels},
            ckquorum=_sentinel(target, p, "ckquorum", s.master_set).strip()))
    return views


def sentinel_problems(target, pods: list[str], quorum: int) -> list[str]:
    """What differs from: every Sentinel of PODS names one master, lists exactly the other
    live pods as replicas and Sentinels (none down), has QUORUM, and CKQUORUM says OK."""
    hosts = {p: target.dep.host(p) for p in pods}
    views = sentinel_views(target, pods)
    problems = []
    masters = {v.master for v in views}
    if len(masters) != 1:
        problems.append(f"the Sentinels name {len(masters)} masters: {sorted(masters)}")
    for v in views:
        want_replicas = {h for h in hosts.values() if h != v.master}
        want_sentinels = {h for p, h in hosts.items() if p != v.pod}
        if set(v.replicas) != want_replicas:
            problems.append(f"{v.pod}: replicas {sorted(v.replicas)}, want {sorted(want_replicas)}")
        if set(v.sentinels) != want_sentinels:
            problems.append(f"{v.pod}: sentinels {sorted(v.sentinels)}, "
                            f"want {sorted(want_sentinels)}")
        down = [h for h, f in {**v.replicas, **v.sentinels}.items()
                if re.search(r"(^|,)(s_down|o_down)(,|$)", f or "")]
        if down:
            problems.append(f"{v.pod}: sees down {down}")
        if v.quorum != quorum:
            problems.append(f"{v.pod}: quorum {v.quorum}, want {quorum}")
        if not v.ckquorum.startswith("OK "):
            problems.append(f"{v.pod}: CKQUORUM {v.ckquorum!r}")
    return problems


def dbsizes(target, pods: list[str]) -> dict[str, int | str]:
    s = target.dep.s
    out = {}
    for p in pods:
        r = target.cluster.pod(p, s.namespace).exec(
            ["redis-cli", "--no-auth-warning", "-p", str(s.port), "dbsize"], timeout=10,
            container="redis", env={"REDISCLI_AUTH": s.password})
        text = r.stdout.strip()
        out[p] = int(text) if r.ok and text.isdigit() else text
    return out
