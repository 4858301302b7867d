"""Judging a Redis Cluster from the outside: parse what redis_client.py collected and decide
whether the cluster is healthy, and drive the client inside the client pod.

Healthy (the strict definition the scenarios use; `cluster_state:ok` alone lies for a few
seconds after a restart):
  * every expected pod answers and announces its current pod IP;
  * every node knows exactly the expected nodes, each at its pod's current IP, with no fail,
    fail?, handshake or noaddr flag, and its bus link connected;
  * every node reports cluster_state:ok, and all views agree on one owner for each of the
    16384 slots, held by the expected number of masters;
  * every replica has master_link_status:up, and each master has its replicas.
Degraded (after a pod was killed and before it is back): the killed node is flagged `fail` by
every live node and owns no slots; everything else as above, among the live nodes.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import sys
import time
from typing import Callable

from emulator import Cluster, HarnessError, Pod

HERE = pathlib.Path(__file__).resolve().parent

SLOTS = 16384
BAD_FLAGS = {"fail", "fail?", "handshake", "noaddr"}


@dataclasses.dataclass
class NodeLine:
    id: str
    ip: str
    hostname: str
    flags: set[str]
    master_id: str
    link: str
    slots: list[tuple[int, int]]

    @property
    def is_master(self) -> bool:
        return "master" in self.flags


def parse_nodes(text: str) -> list[NodeLine]:
    out = []
    for line in text.strip().splitlines():
        f = line.split()
        addr = f[1]
        ipport, _, rest = addr.partition("@")
        hostname = rest.split(",", 1)[1] if "," in rest else ""
        slots = []
        for s in f[8:]:
            if s.startswith("["):  # a migrating/importing marker, not ownership
                continue
            a, _, b = s.partition("-")
            slots.append((int(a), int(b or a)))
        out.append(NodeLine(id=f[0], ip=ipport.rsplit(":", 1)[0], hostname=hostname,
                            flags=set(f[2].split(",")), master_id=f[3], link=f[7], slots=slots))
    return out


def parse_info(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        if ":" in line and not line.startswith("#"):
            k, _, v = line.strip().partition(":")
            out[k] = v
    return out


@dataclasses.dataclass
class Health:
    problems: list[str]
    ids: dict[str, str]             # pod -> node id (live pods)
    views: dict[str, list[NodeLine]]
    roles: dict[str, str]           # pod -> master/slave
    slot_owner: dict[int, str]      # slot -> node id, from the first live view (sparse: starts)

    @property
    def ok(self) -> bool:
        return not self.problems

    def pod_of(self, node_id: str) -> str | None:
        return next((p for p, i in self.ids.items() if i == node_id), None)

    def owner_pod(self, slot: int) -> str | None:
        """The pod serving SLOT as master, in the first live pod's view."""
        for pod, view in self.views.items():
            for line in view:
                if line.is_master and "fail" not in line.flags and any(
                        a <= slot <= b for a, b in line.slots):
                    return self.pod_of(line.id)
            return None
        return None

    def replicas_of(self, pod: str) -> list[str]:
        node_id = self.ids[pod]
        first = next(iter(self.views.values()))
        return sorted(p for line in first if line.master_id == node_id
                      for p in [self.pod_of(line.id)] if p)

    def __str__(self) -> str:
        return "healthy" if self.ok else "not healthy:\n  " + "\n  ".join(self.problems)


def evaluate(snapshot: dict, pod_ips: dict[str, str], expected: list[str], masters: int,
             down: dict[str, str] | None = None) -> Health:
    """Judge SNAPSHOT (pod -> raw replies) against the expected pods; DOWN maps pods that are
    gone to the node IDs they had (degraded mode)."""
    down = down or {}
    problems: list[str] = []
    views, ids, roles, infos = {}, {}, {}, {}
    for pod in expected:
        if pod in down:
            continue
        raw = snapshot.get(pod)
        if pod not in pod_ips or raw is None:
            problems.append(f"{pod}: no running pod")
            continue
        if "error" in raw:
            problems.append(f"{pod}: {raw['error']}")
            continue
        views[pod] = parse_nodes(raw["nodes"])
        infos[pod] = parse_info(raw["info"])
        repl = parse_info(raw["replication"])
        roles[pod] = repl.get("role", "?")
        myself = next((n for n in views[pod] if "myself" in n.flags), None)
        if myself is None:
            problems.append(f"{pod}: no myself line")
            continue
        ids[pod] = myself.id
        if myself.ip != pod_ips[pod]:
            problems.append(f"{pod}: announces {myself.ip or '(none)'}, pod IP is {pod_ips[pod]}")
        if roles[pod] == "slave" and repl.get("master_link_status") != "up":
            problems.append(f"{pod}: replica master_link_status:{repl.get('master_link_status')}")
        if infos[pod].get("cluster_state") != "ok":
            problems.append(f"{pod}: cluster_state:{infos[pod].get('cluster_state')}")
    if len(set(ids.values())) != len(ids):
        problems.append(f"duplicate node IDs: {ids}")
    by_id = {i: p for p, i in ids.items()}
    slot_maps = {}
    for pod, view in views.items():
        problems += _judge_view(pod, view, by_id, pod_ips, down, len(expected))
        slot_maps[pod] = _slot_map(view)
    slot_owner = _judge_slots(slot_maps, masters, by_id, problems)
    if not down and views:
        _judge_replica_counts(views, by_id, len(expected) // max(masters, 1) - 1, problems)
    return Health(problems, ids, views, roles, slot_owner)


def _judge_view(pod: str, view: list[NodeLine], by_id: dict[str, str], pod_ips: dict[str, str],
                down: dict[str, str], n_expected: int) -> list[str]:
    problems = []
    if len(view) != n_expected:
        problems.append(f"{pod} knows {len(view)} nodes (want {n_expected})")
    down_ids = {i: p for p, i in down.items()}
    for line in view:
        if line.id in down_ids:
            if "fail" not in line.flags:
                problems.append(f"{pod} does not yet flag killed {down_ids[line.id]} as fail "
                                f"({','.join(sorted(line.flags))})")
            if line.slots:
                problems.append(f"{pod} still sees killed {down_ids[line.id]} owning slots")
            continue
        peer = by_id.get(line.id)
        if peer is None:
            problems.append(f"{pod} knows unknown node {line.id[:8]} at {line.ip} "
                            f"({','.join(sorted(line.flags))})")
            continue
        if line.ip != pod_ips.get(peer):
            problems.append(f"{pod} sees {peer} at {line.ip or '(no address)'}, "
                            f"its IP is {pod_ips.get(peer)}")
        bad = line.flags & BAD_FLAGS
        if bad:
            problems.append(f"{pod} flags {peer} {','.join(sorted(bad))}")
        if "myself" not in line.flags and line.link != "connected":
            problems.append(f"{pod}: bus link to {peer} is {line.link}")
    return problems


def _slot_map(view: list[NodeLine]) -> dict[int, str]:
    """Slot -> owner id for masters not flagged fail (range starts only, for comparison)."""
    owners: dict[int, str] = {}
    for line in view:
        if line.is_master and "fail" not in line.flags:
            for a, b in line.slots:
                for s in range(a, b + 1):
                    owners[s] = line.id
    return owners


def _judge_slots(slot_maps: dict[str, dict[int, str]], masters: int, by_id: dict[str, str],
                 problems: list[str]) -> dict[int, str]:
    """Every view must serve all slots and agree with the others. The map most views share
    is the reference, so one odd node is named as the odd one."""
    if not slot_maps:
        return {}
    ref_pod = max(slot_maps, key=lambda p: sum(m == slot_maps[p] for m in slot_maps.values()))
    first = slot_maps[ref_pod]
    for pod, m in slot_maps.items():
        if len(m) != SLOTS:
            problems.append(f"{pod} sees {len(m)} of {SLOTS} slots served")
        if m != first:
            diff = sum(1 for s in range(SLOTS) if m.get(s) != first.get(s))
            problems.append(f"{pod} disagrees with the majority view ({ref_pod}) on the owner "
                            f"of {diff} slots")
    owners = set(first.values())
    if len(owners) != masters:
        names = sorted(by_id.get(o, o[:8]) for o in owners)
        problems.append(f"{len(owners)} masters own slots (want {masters}): {names}")
    return first


def _judge_replica_counts(views: dict[str, list[NodeLine]], by_id: dict[str, str],
                          want: int, problems: list[str]) -> None:
    view = next(iter(views.values()))
    for line in view:
        if line.is_master and line.slots:
            n = sum(1 for other in view if other.master_id == line.id)
            if n != want:
                problems.append(f"master {by_id.get(line.id, line.id[:8])} has {n} replicas "
                                f"(want {want})")


class RedisClusterClient:
    """Runs redis_client.py in the client pod against a StatefulSet's Redis nodes."""

    def __init__(self, cluster: Cluster, client: Pod, statefulset: str, namespace: str,
                 port: int, password: str, masters: int, replicas: int):
        self.cluster, self.client = cluster, client
        self.statefulset, self.namespace = statefulset, namespace
        self.port, self.password = port, password
        self.masters = masters
        self.expected = [f"{statefulset}-{i}" for i in range(replicas)]

    def pod_ips(self) -> dict[str, str]:
        return {p.name: p.ip for p in self.cluster.statefulset_pods(self.statefulset,
                                                                    self.namespace)}

    def run(self, command: str, request: dict, timeout: float = 60) -> dict:
        argv = [sys.executable, str(HERE / "redis_client.py"), command]
        r = self.client.exec(argv, timeout=timeout, input=json.dumps(request),
                             env={"E2E_REDIS_PASSWORD": self.password})
        if not r.ok:
            raise HarnessError(f"redis_client.py {command} failed (exit {r.code}):\n"
                               f"{r.stderr[-3000:]}")
        return json.loads(r.stdout)

    def health(self, down: dict[str, str] | None = None) -> Health:
        ips = self.pod_ips()
        snap = self.run("snapshot", {"nodes": {p: f"{ip}:{self.port}" for p, ip in ips.items()}})
        return evaluate(snap, ips, self.expected, self.masters, down)

    def wait_healthy(self, timeout: float, stable: float = 6.0,
                     down: dict[str, str] | None = None, what: str = "healthy",
                     on_timeout: Callable[[Health], str] | None = None) -> tuple[float, Health]:
        """Seconds until the cluster was first healthy and then stayed so for STABLE seconds
        (first healthy must come within TIMEOUT)."""
        start = time.monotonic()
        first_ok = None
        while True:
            h = self.health(down)
            now = time.monotonic()
            if h.ok:
                first_ok = first_ok or now
                if now - first_ok >= stable:
                    return first_ok - start, h
            else:
                first_ok = None
                if now - start > timeout:
                    extra = on_timeout(h) if on_timeout else ""
                    raise HarnessError(f"not {what} within {timeout:.0f}s: {h}\n{extra}")
            time.sleep(1.0)

    def startup_nodes(self) -> list[str]:
        return [f"{ip}:{self.port}" for ip in self.pod_ips().values()]

    def write(self, count: int, prefix: str, replicas: int = 1,
              wait_timeout_ms: int = 2000) -> tuple[list[str], dict[str, str]]:
        req = {"startup": self.startup_nodes(), "prefix": prefix, "count": count,
               "replicas": replicas, "wait_timeout_ms": wait_timeout_ms, "budget_s": 150}
        out = self.run("write", req, timeout=180)
        return out["acked"], out["unacked"]

    def read(self, keys: list[str]) -> tuple[list[str], list[str]]:
        out = self.run("read", {"startup": self.startup_nodes(), "keys": keys}, timeout=120)
        return out["missing"], out["wrong"]
