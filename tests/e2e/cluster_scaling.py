"""Scaling a live Redis Cluster (issue 12): a re-render with other counts applied as `kubectl
apply` would (emulator `Cluster.apply_update`: the StatefulSet grows or shrinks, the new
reconcile Job starts at once), under the continuous writer of day 2 (SET + WAIT 1).

`apply_scale` (scaling.apply_scale with the cluster's checks) waits for the Job and for the
new shape, then checks what the issue asks after each step: no acknowledged write lost, no pod that stays restarted (counts never roll pods),
every member knows exactly the members, every slot served, the masters' shares within 2% of
even, each master with its replicas; and the pods being retired hold nothing."""

from __future__ import annotations

import scaling
from cluster_health import RedisClusterClient
from emulator.errors import HarnessError

HEALTH_TIMEOUT = 180
SLOTS = 16384


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


def apply_scale(target, rendered, step: str, interrupt=None):
    """scaling.apply_scale of RENDERED with the cluster's checks of the new shape: the members
    healthy as exactly the members (every slot served, masters within 2% of even, each with its
    replicas), no pod that existed restarted, the retired pods empty, and the masters holding
    no fewer keys than before. Figures: slots per master, the largest distance from even."""
    cl = target.cluster
    topo = scaling.rendered_topology(rendered.objects())
    members = topo["members"]
    before = {p.name: p.ip for p in cl.statefulset_pods(target.statefulset, target.namespace)}
    keys_before = total_keys(target)

    def at_shape() -> dict:
        target.dep.rendered = rendered
        target.dep.client = members_client(target, rendered, members)
        _secs, health = target.dep.client.wait_healthy(HEALTH_TIMEOUT, stable=2.0,
                                                       what=f"healthy after {step}")
        after = {p.name: p.ip for p in cl.statefulset_pods(target.statefulset,
                                                          target.namespace)}
        moved = sorted(n for n in after if n in before and before[n] != after[n])
        if moved:
            raise HarnessError(f"{step}: pods {moved} restarted: a count change must roll "
                               "no pod")
        problems = retired_empty(target, rendered, members)
        if problems:
            raise HarnessError(f"{step}: retired pods are not empty: {problems}")
        keys_after = total_keys(target)
        if keys_after < keys_before:
            raise HarnessError(f"{step}: the masters held {keys_before} keys before and "
                               f"{keys_after} after")
        shares = slot_shares(health)
        even = SLOTS / topo["masters"]
        return {"slots": shares, "keys_before": keys_before, "keys_after": keys_after,
                "balance_percent": round(max(abs(n - even) for n in shares.values())
                                         / even * 100, 2)}

    return scaling.apply_scale(target, rendered.objects(), step, interrupt, at_shape)
