"""Scaling a live Redis Cluster (issue 12): a re-render with other counts applied as `kubectl
apply` would (emulator `Cluster.apply_update`: the StatefulSet grows or shrinks, the new
reconcile Job starts at once), under the continuous writer of day 2 (SET + WAIT 1).

`apply_scale` waits for the Job and for the new shape, then checks what the issue asks after
each step: no acknowledged write lost, no pod that stays restarted (counts never roll pods),
every member knows exactly the members, every slot served, the masters' shares within 2% of
even, each master with its replicas; and the pods being retired hold nothing."""

from __future__ import annotations

import dataclasses
import time

from cluster_health import RedisClusterClient
from day2 import WARM_UP, Writer, longest_gap, read_back
from emulator.errors import HarnessError

JOB_TIMEOUT = 900
HEALTH_TIMEOUT = 180
SLOTS = 16384


@dataclasses.dataclass
class ScaleResult:
    step: str
    job_seconds: float
    shape_seconds: float        # apply -> the Job complete and the cluster healthy
    worst_ack_gap: float        # longest time without an acknowledged write, any lane
    worst_accept_gap: float     # without a SET answered OK
    acked: list
    lost: list
    slots: dict                 # pod -> slots owned (masters)
    balance_percent: float      # the largest distance from an even share
    errors: dict
    job_log: str
    job_name_seen_before: bool  # an earlier step had this Job name (deleted as its TTL would)

    def figures(self) -> dict:
        return {"job_seconds": self.job_seconds, "time_to_shape_s": self.shape_seconds,
                "worst_ack_gap_s": self.worst_ack_gap,
                "worst_accept_gap_s": self.worst_accept_gap,
                "acked": len(self.acked), "lost": len(self.lost), "slots": self.slots,
                "balance_percent": self.balance_percent, "errors": self.errors,
                "job_name_seen_before": self.job_name_seen_before}


def members_client(target, rendered, members: int) -> RedisClusterClient:
    """A health client that expects exactly the members (ordinals below MEMBERS)."""
    dep = target.dep
    pod = dep.cluster.client_pod(namespace=dep.namespace)
    client = RedisClusterClient(dep.cluster, pod, rendered.statefulset, dep.namespace,
                                rendered.port, rendered.password, rendered.masters, members)
    everyone = client.pod_ips
    client.pod_ips = lambda: {n: ip for n, ip in everyone().items()
                              if int(n.rsplit("-", 1)[1]) < members}
    return client


def topology(rendered) -> dict[str, int]:
    cm = next(o for o in rendered.objects() if o.get("kind") == "ConfigMap")
    lines = cm["data"]["topology"].splitlines()
    return {k: int(v) for k, v in (l.split("=", 1) for l in lines if l and not l.startswith("#"))}


def slot_shares(health) -> dict[str, int]:
    owners: dict[str, int] = {}
    for _slot, owner in health.slot_owner.items():
        owners[owner] = owners.get(owner, 0) + 1
    by_id = {i: p for p, i in health.ids.items()}
    return {by_id.get(o, o[:8]): n for o, n in sorted(owners.items())}


def retired_empty(target, rendered, members: int) -> list[str]:
    """Problems of the pods at and above MEMBERS: each must know no peer and hold no key."""
    problems = []
    for pod in target.cluster.statefulset_pods(rendered.statefulset, target.namespace):
        if pod.ordinal < members:
            continue
        env = {"REDISCLI_AUTH": rendered.password}
        base = ["redis-cli", "--no-auth-warning", "-p", str(rendered.port)]
        info = pod.exec(base + ["cluster", "info"], timeout=5, container="redis", env=env)
        keys = pod.exec(base + ["dbsize"], timeout=5, container="redis", env=env)
        if "cluster_known_nodes:1" not in info.stdout or keys.stdout.strip() != "0":
            problems.append(f"{pod.name}: {info.stdout.strip()[:200]!r} keys {keys.stdout!r}")
    return problems


def total_keys(target) -> int:
    """The keys the masters hold (DBSIZE of every pod that answers role:master)."""
    total = 0
    env = {"REDISCLI_AUTH": target.password}
    base = ["redis-cli", "--no-auth-warning", "-p", str(target.port)]
    for pod in target.cluster.statefulset_pods(target.statefulset, target.namespace):
        role = pod.exec(base + ["info", "replication"], timeout=5, container="redis", env=env)
        if "role:master" not in role.stdout:
            continue
        keys = pod.exec(base + ["dbsize"], timeout=5, container="redis", env=env)
        if keys.stdout.strip().isdigit():
            total += int(keys.stdout.strip())
    return total


def apply_scale(target, rendered, step: str, interrupt=None) -> ScaleResult:
    """Apply RENDERED (the re-render) onto TARGET's cluster under the writer and judge it.
    INTERRUPT(cluster, job_name) may kill the Job mid-way and re-run it (scenario e); it
    returns the JobResult that counts."""
    cl = target.cluster
    topo = topology(rendered)
    members = topo["members"]
    before = {p.name: p.ip for p in cl.statefulset_pods(target.statefulset, target.namespace)}
    keys_before = total_keys(target)
    writer = Writer(target, f"sc:{step}")
    writer.start()
    try:
        time.sleep(WARM_UP)
        t_apply = time.monotonic()
        # A shape seen before (3x1 again after a scale-in, 4x1 again in scenario e) renders
        # that shape's Job name again. Kubernetes deleted that finished Job 10 minutes after it
        # ended (ttlSecondsAfterFinished: 600), so the apply creates and runs it again; the
        # emulator keeps finished Jobs, so their deletion is done here. (Within those 10
        # minutes `kubectl apply` finds the Job and runs nothing: README "Returning to an
        # earlier shape".)
        ttl_deleted = cl.store.delete("Job", target.namespace, rendered.job)
        rollout = cl.apply_update(rendered.objects(), role_of=target.role_of)
        if interrupt is not None:
            job = interrupt(cl, rendered.job)
            rollout.wait(JOB_TIMEOUT)
        else:
            rollout.wait(JOB_TIMEOUT)
            job = rollout.jobs.get(rendered.job)
        if job is None or not job.succeeded:
            raise HarnessError(f"{step}: the reconcile Job did not succeed: {job}\n"
                               f"{rollout.report()}")
        target.dep.rendered = rendered
        target.dep.client = members_client(target, rendered, members)
        secs, health = target.dep.client.wait_healthy(HEALTH_TIMEOUT, stable=2.0,
                                                      what=f"healthy after {step}")
        t_shape = time.monotonic()
        after = {p.name: p.ip for p in cl.statefulset_pods(target.statefulset,
                                                          target.namespace)}
        moved = sorted(n for n in after if n in before and before[n] != after[n])
        if moved:
            raise HarnessError(f"{step}: pods {moved} restarted: a count change must roll "
                               f"no pod\n{rollout.report()}")
        problems = retired_empty(target, rendered, members)
        if problems:
            raise HarnessError(f"{step}: retired pods are not empty: {problems}")
        time.sleep(WARM_UP)
    except BaseException:
        writer.kill()
        raise
    record = writer.stop()
    keys_after = total_keys(target)
    if keys_after < keys_before:
        raise HarnessError(f"{step}: the masters held {keys_before} keys before and "
                           f"{keys_after} after")
    acked = record.keys()
    missing, wrong = read_back(target, acked)
    shares = slot_shares(health)
    even = SLOTS / topo["masters"]
    balance = round(max(abs(n - even) for n in shares.values()) / even * 100, 2)
    return ScaleResult(
        step=step, job_seconds=round(job.seconds, 1),
        shape_seconds=round(t_shape - t_apply, 1),
        worst_ack_gap=max(longest_gap(record.times([lane]), t_apply, t_shape)
                          for lane in record.lanes),
        worst_accept_gap=max(longest_gap(record.times([lane], accepted=True), t_apply,
                                         t_shape) for lane in record.lanes),
        acked=acked, lost=missing + wrong, slots=shares, balance_percent=balance,
        errors=record.errors, job_log=job.logs[-3000:], job_name_seen_before=ttl_deleted)
