"""Day 2: a re-render of a changed profile applied onto a running deployment (the emulator's
`Cluster.apply_update`), under a continuous writer (day2_writer.py in the client pod), as
reusable steps for the day-2 scenarios (test_day2.py) and negative controls:

    target = ClusterTarget(deployment) | SentinelTarget(sentinel_deployment)
    load_data(target, 100)                        # >= 100 MB that replicates
    result = apply_change(target, render_fn, CHANGES[0])   # -> ChangeResult (figures)
    lost = read_back(target, result.acked)

A master restart is a pod that was a master when the StatefulSet controller deleted it (the
rollout asks `target.role_of` just before each deletion). For each, the writer's record gives
the longest gap between acknowledged writes (SET OK and WAIT 1 >= 1) and between accepted
writes (SET OK) on the lanes that pod served, over the window from its deletion to its
replacement's Ready.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import re
import subprocess
import sys
import time
from typing import Callable

from cluster_health import RedisClusterClient, parse_info, parse_nodes
from emulator import HarnessError, Pod
from emulator.process import killpg

HERE = pathlib.Path(__file__).resolve().parent
WRITER = HERE / "day2_writer.py"

# Budgets, in seconds.
ROLL_TIMEOUT = 600
HEALTH_TIMEOUT = 120
WARM_UP = 2.0        # the writer runs this long before the apply, and after the health check
WRITER_STOP_TIMEOUT = 60
# Short, so that a lane blocked in WAIT (a shard whose only replica is restarting cannot
# acknowledge) still measures how long SET itself was refused: the accepted-write gap.
WAIT_TIMEOUT_MS = 250
INTERVAL_MS = 20


# -- profile changes ---------------------------------------------------------------------------


def _mb(text: str) -> float:
    """A size in MB from a Redis size ("200mb", "1gb") or a Quantity ("256Mi", "2Gi")."""
    m = re.fullmatch(r"\s*([\d.]+)\s*([a-zA-Z]*)\s*", str(text))
    if not m:
        raise ValueError(f"not a size: {text!r}")
    n, unit = float(m.group(1)), m.group(2).lower()
    factor = {"": 1e-6, "b": 1e-6, "k": 1e-3, "kb": 1e-3, "m": 1, "mb": 1, "g": 1e3, "gb": 1e3,
              "ki": 1.024e-3, "mi": 1.048576, "gi": 1073.741824}[unit]
    return n * factor


def change_maxmemory(spec: dict) -> str:
    """10 % less maxmemory (below the pod's memory, as redkube demands); where the profile
    sets none, 75 % of the memory request."""
    redis = spec.setdefault("redis", {})
    if "maxmemory" in redis:
        new = int(_mb(redis["maxmemory"]) * 0.9)
    else:
        mem = ((spec.get("resources") or {}).get("requests") or {}).get("memory", "256Mi")
        new = int(_mb(mem) * 0.75)
    old = redis.get("maxmemory")
    redis["maxmemory"] = f"{new}mb"
    return f"maxmemory {old} -> {new}mb"


def change_image_tag(spec: dict) -> str:
    """The next patch release of the same line (the emulator maps images by repository: the
    binaries stay the host's, the template changes)."""
    image = spec.setdefault("image", {})
    ref = image.get("reference", "redis:7.2.7")
    repo, _, tag = ref.rpartition(":")
    parts = tag.split(".")
    parts[-1] = str(int(parts[-1]) + 1)
    image["reference"] = f"{repo}:{'.'.join(parts)}"
    return f"image {ref} -> {image['reference']}"


def change_resources(spec: dict) -> str:
    """A quarter more memory and CPU requested (set where the profile has none)."""
    req = spec.setdefault("resources", {}).setdefault("requests", {})
    old = dict(req)
    mem = _mb(req.get("memory", "256Mi")) / 1.048576  # MiB
    cpu = req.get("cpu", "250m")
    millis = int(cpu[:-1]) if cpu.endswith("m") else int(float(cpu) * 1000)
    req["memory"] = f"{int(mem * 1.25)}Mi"
    req["cpu"] = f"{int(millis * 1.25)}m"
    return f"resources.requests {old} -> {req}"


@dataclasses.dataclass(frozen=True)
class Change:
    name: str
    edit: Callable[[dict], str]  # changes a parsed profile in place, says what it did


CHANGES = (Change("maxmemory", change_maxmemory), Change("image", change_image_tag),
           Change("resources", change_resources))


# -- targets: what differs between the modes ---------------------------------------------------


class ClusterTarget:
    """A Redis Cluster deployment (scenarios.Deployment) as the day-2 steps see it."""

    mode = "cluster"

    def __init__(self, dep):
        self.dep = dep
        r = dep.rendered
        self.cluster, self.namespace = dep.cluster, dep.namespace
        self.statefulset, self.port, self.password = r.statefulset, r.port, r.password
        self.figures = dep.figures

    def client(self) -> RedisClusterClient:
        return self.dep._client()

    def pod_names(self) -> list[str]:
        return [f"{self.statefulset}-{i}" for i in range(self.dep.rendered.pods)]

    def lanes(self) -> list[dict]:
        """One lane in the middle of each master's share of the slots (as `--cluster create`
        splits them), so every shard is written."""
        m = self.dep.rendered.masters
        return [{"name": f"s{i}", "slot": int((i + 0.5) * 16384 / m)} for i in range(m)]

    def seeds(self) -> list[str]:
        """The pods' IPs now, and their DNS names (which follow the pods as they move)."""
        sts = self.cluster.store.get("StatefulSet", self.namespace, self.statefulset)
        domain = self.cluster.settings.cluster_domain
        names = [f"{p}.{sts['spec']['serviceName']}.{self.namespace}.svc.{domain}:{self.port}"
                 for p in self.pod_names()]
        return self.client().startup_nodes() + names

    def writer_request(self) -> dict:
        return {"mode": "cluster", "seeds": self.seeds(), "lanes": self.lanes()}

    def read_request(self) -> dict:
        return {"mode": "cluster", "seeds": self.seeds()}

    def role_of(self, pod: Pod) -> dict:
        """Role and slots from the pod's own CLUSTER NODES, just before its deletion."""
        res = pod.exec(["redis-cli", "--no-auth-warning", "-p", str(self.port), "cluster",
                        "nodes"], timeout=5, container="redis",
                       env={"REDISCLI_AUTH": self.password})
        if not res.ok:
            return {"role": "unknown", "why": (res.stdout + res.stderr)[-200:]}
        me = next((n for n in parse_nodes(res.stdout) if "myself" in n.flags), None)
        if me is None:
            return {"role": "unknown", "why": "no myself line"}
        return {"role": "master" if me.is_master else "replica", "slots": me.slots}

    def served_lanes(self, role: dict, lanes: dict) -> list[str]:
        if not isinstance(role, dict) or role.get("role") != "master":
            return []
        return [name for name, lane in lanes.items()
                if any(a <= lane["slot"] <= b for a, b in role.get("slots") or [])]

    def wait_healthy(self, timeout: float) -> str:
        secs, _ = self.client().wait_healthy(timeout, stable=2.0, what="healthy after the apply")
        return f"healthy after {secs:.1f}s"


class SentinelTarget:
    """A Sentinel deployment (test_sentinel.SentinelDeployment) as the day-2 steps see it."""

    mode = "sentinel"

    def __init__(self, dep):
        self.dep = dep
        s = dep.s
        self.cluster, self.namespace = dep.cluster, s.namespace
        self.statefulset, self.port, self.password = s.statefulset, s.port, s.password
        self.figures = dep.figures

    def pod_names(self) -> list[str]:
        return list(self.dep.names)

    def lanes(self) -> list[dict]:
        return [{"name": "m0"}, {"name": "m1"}]

    def writer_request(self) -> dict:
        s = self.dep.s
        return {"mode": "sentinel", "lanes": self.lanes(), "master_set": s.master_set,
                "sentinels": [f"{self.dep.host(p)}:{s.sentinel_port}" for p in self.dep.names]}

    def read_request(self) -> dict:
        req = self.writer_request()
        req.pop("lanes")
        return req

    def role_of(self, pod: Pod) -> dict:
        res = pod.exec(["redis-cli", "--no-auth-warning", "-p", str(self.port), "info",
                        "replication"], timeout=5, container="redis",
                       env={"REDISCLI_AUTH": self.password})
        if not res.ok:
            return {"role": "unknown", "why": (res.stdout + res.stderr)[-200:]}
        info = parse_info(res.stdout)
        role = {"master": "master", "slave": "replica"}.get(info.get("role"), "unknown")
        return {"role": role, "offset": info.get("master_repl_offset")}

    def served_lanes(self, role: dict, lanes: dict) -> list[str]:
        return list(lanes) if isinstance(role, dict) and role.get("role") == "master" else []

    def wait_healthy(self, timeout: float) -> str:
        secs, master = self.dep.wait_healthy(self.dep.names, timeout, "healthy after the apply")
        return f"healthy after {secs:.1f}s, master {master}"


# -- the writer --------------------------------------------------------------------------------


@dataclasses.dataclass
class WriterRecord:
    """What day2_writer.py wrote: per lane the end time and outcome of every attempt."""

    prefix: str
    lanes: dict          # name -> {"slot", "tag", "t": [...], "o": [...]}
    errors: dict
    error_samples: list
    started: float
    stopped: float

    def keys(self, outcome: int = 0) -> list[str]:
        sys.path.insert(0, str(HERE))
        from day2_writer import key_of
        return [key_of(self.prefix, name, lane["tag"], i)
                for name, lane in self.lanes.items()
                for i, o in enumerate(lane["o"]) if o == outcome]

    def times(self, lanes: list[str] | None = None, accepted: bool = False) -> list[float]:
        """Sorted times of the acknowledgements (WAIT's answer), or with ACCEPTED of every
        SET answered OK (SET's answer)."""
        chosen = [lane for name, lane in self.lanes.items() if lanes is None or name in lanes]
        if accepted:
            return sorted(s for lane in chosen for s in lane["s"] if s)
        return sorted(t for lane in chosen for t, o in zip(lane["t"], lane["o"]) if o == 0)

    def attempts(self) -> int:
        return sum(len(lane["o"]) for lane in self.lanes.values())


def longest_gap(times: list[float], start: float, end: float) -> float:
    """The longest interval between consecutive events of TIMES that overlaps [START, END];
    the window's edges count as events when nothing happened before or after it."""
    before = [t for t in times if t <= start]
    inside = [t for t in times if start < t <= end]
    after = [t for t in times if t > end]
    points = [before[-1] if before else start, *inside, after[0] if after else end]
    return round(max(b - a for a, b in zip(points, points[1:])), 3) if len(points) > 1 else 0.0


class Writer:
    """day2_writer.py running in the client pod until stop()."""

    def __init__(self, target, prefix: str):
        self.target, self.prefix = target, prefix
        self.proc: subprocess.Popen | None = None
        self.log_path = target.cluster.log_dir / f"writer-{prefix.replace(':', '-')}.log"

    def start(self) -> None:
        pod = self.target.cluster.client_pod(namespace=self.target.namespace)
        req = {**self.target.writer_request(), "prefix": self.prefix,
               "interval_ms": INTERVAL_MS, "wait_timeout_ms": WAIT_TIMEOUT_MS,
               "max_seconds": ROLL_TIMEOUT + HEALTH_TIMEOUT + 120}
        log = open(self.log_path, "w")
        try:
            self.proc = pod.spawn([sys.executable, str(WRITER), "write"],
                                  env={"E2E_REDIS_PASSWORD": self.target.password},
                                  stdout=subprocess.PIPE, stderr=log)
        finally:
            log.close()
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()

    def stop(self) -> WriterRecord:
        try:
            out, _ = self.proc.communicate(input="stop\n", timeout=WRITER_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            killpg(self.proc.pid, 9)
            self.proc.communicate(timeout=10)
            raise HarnessError(f"the writer did not stop within {WRITER_STOP_TIMEOUT}s "
                               f"(log: {self.log_path})") from None
        if self.proc.returncode != 0:
            raise HarnessError(f"the writer failed (exit {self.proc.returncode}): "
                               f"{self.log_path.read_text()[-3000:]}")
        got = json.loads(out)
        return WriterRecord(self.prefix, got["lanes"], got["errors"], got["error_samples"],
                            got["started"], got["stopped"])

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            killpg(self.proc.pid, 9)
            self.proc.communicate(timeout=10)


def run_client(target, command: str, request: dict, timeout: float) -> dict:
    pod = target.cluster.client_pod(namespace=target.namespace)
    r = pod.exec([sys.executable, str(WRITER), command], timeout=timeout,
                 input=json.dumps(request), env={"E2E_REDIS_PASSWORD": target.password})
    if not r.ok:
        raise HarnessError(f"day2_writer.py {command} failed (exit {r.code}): {r.stderr[-3000:]}")
    return json.loads(r.stdout)


def read_back(target, keys: list[str], timeout: float = 300) -> tuple[list[str], list[str]]:
    """(missing, wrong) among KEYS, read from their masters now."""
    got = run_client(target, "read", {**target.read_request(), "keys": keys}, timeout)
    return got["missing"], got["wrong"]


def load_data(target, megabytes: int, value_kb: int = 256) -> dict:
    """MEGABYTES of values in keys spread over every shard, each master's writes confirmed by
    a replica (WAIT) at the end."""
    req = {**target.read_request(), "megabytes": megabytes, "value_kb": value_kb}
    return run_client(target, "load", req, timeout=300)


# -- one change --------------------------------------------------------------------------------


@dataclasses.dataclass
class MasterRestart:
    pod: str
    lanes: list[str]
    down_seconds: float     # deletion to the replacement's Ready
    ack_gap: float          # longest gap between acknowledged writes on its lanes
    accept_gap: float       # longest gap between accepted writes (SET OK) on its lanes

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class ChangeResult:
    change: str
    description: str
    rollout_report: str
    timeline: list[dict]
    roll_seconds: float | None
    health: str
    worst_ack_gap: float           # the longest any lane went without an acknowledged write,
    worst_accept_gap: float        # (accepted write), from the apply to the rollout's end
    pods: list[str]                # the rollout per pod, relative to its deletion
    master_restarts: list[MasterRestart]
    acked_during_apply: int
    acked: list[str]               # every key acknowledged while the writer ran
    lost: list[str]                # of those, missing or wrong right after the change
    errors: dict
    jobs: dict

    @property
    def worst_master_ack_gap(self) -> float | None:
        return max((m.ack_gap for m in self.master_restarts), default=None)

    @property
    def worst_master_accept_gap(self) -> float | None:
        return max((m.accept_gap for m in self.master_restarts), default=None)

    def figures(self) -> dict:
        return {
            "change": self.description,
            "roll_seconds": self.roll_seconds,
            "worst_ack_gap_s": self.worst_ack_gap,
            "worst_accept_gap_s": self.worst_accept_gap,
            "pods": self.pods,
            "master_restarts": [m.as_dict() for m in self.master_restarts],
            "worst_master_ack_gap_s": self.worst_master_ack_gap,
            "worst_master_accept_gap_s": self.worst_master_accept_gap,
            "acked_during_apply": self.acked_during_apply,
            "keys_lost": len(self.lost),
            "errors": dict(sorted(self.errors.items(), key=lambda kv: -kv[1])[:6]),
            "jobs": self.jobs,
        }


def _pod_line(u) -> str:
    role = u.role.get("role") if isinstance(u.role, dict) else u.role
    def at(stamp):
        return f"{stamp.mono - u.deleted.mono:.1f}" if stamp and u.deleted else "-"
    return (f"{u.pod} {role}: stopped {at(u.stopped)}, started {at(u.started)}, "
            f"Ready {at(u.ready)}")


def apply_change(target, objects: list[dict], change: str, description: str = "",
                 partition: int = 0) -> ChangeResult:
    """Apply OBJECTS (a re-render) onto TARGET's running deployment under the writer: wait for
    the rollout and for health with every pod at a new IP, stop the writer, read back what
    it acknowledged. Raises HarnessError when the rollout or the health check fails (the
    writer is stopped and its record is in the message's figures). PARTITION: the render's
    `[update] partition`; the pods below it must keep their IP (not rolled), the others not."""
    cl = target.cluster
    before = {p.name: p.ip for p in cl.statefulset_pods(target.statefulset, target.namespace)}
    writer = Writer(target, f"d2:{change}")
    writer.start()
    try:
        time.sleep(WARM_UP)
        t_apply = time.monotonic()
        rollout = cl.apply_update(objects, role_of=target.role_of)
        rollout.wait(ROLL_TIMEOUT)
        t_rolled = time.monotonic()
        health = target.wait_healthy(HEALTH_TIMEOUT)
        pods = cl.statefulset_pods(target.statefulset, target.namespace)
        after = {p.name: p.ip for p in pods}
        held = {p.name for p in pods if p.ordinal < partition}
        same = sorted(n for n in after if before.get(n) == after[n])
        if same != sorted(held) or sorted(after) != sorted(before):
            raise HarnessError(f"after the rollout, pods {same} kept their IP, expected "
                               f"{sorted(held)} (partition {partition}; before {before}, "
                               f"after {after})\n{rollout.report()}")
        time.sleep(WARM_UP)
    except BaseException:
        writer.kill()
        raise
    record = writer.stop()
    (cl.log_dir / f"day2-{change}.json").write_text(json.dumps(
        {"writer": dataclasses.asdict(record), "timeline": rollout.timeline(),
         "apply": t_apply, "rolled": t_rolled}))
    restarts = []
    for u in rollout.updates:
        lanes = target.served_lanes(u.role, record.lanes)
        if not lanes:
            continue
        start, end = u.down_window()
        restarts.append(MasterRestart(
            pod=u.pod, lanes=lanes, down_seconds=round(end - start, 1),
            ack_gap=longest_gap(record.times(lanes), start, end),
            accept_gap=longest_gap(record.times(lanes, accepted=True), start, end)))
    acked = record.keys()
    missing, wrong = read_back(target, acked)
    return ChangeResult(
        change=change, description=description, rollout_report=rollout.report(),
        timeline=rollout.timeline(), roll_seconds=rollout.seconds, health=health,
        worst_ack_gap=max(longest_gap(record.times([lane]), t_apply, t_rolled)
                          for lane in record.lanes),
        worst_accept_gap=max(longest_gap(record.times([lane], accepted=True), t_apply, t_rolled)
                             for lane in record.lanes),
        pods=[_pod_line(u) for u in rollout.updates],
        master_restarts=restarts,
        acked_during_apply=sum(1 for t in record.times() if t_apply <= t <= t_rolled),
        acked=acked, lost=missing + wrong, errors=record.errors,
        jobs={name: (r.reason if r else "running") for name, r in rollout.jobs.items()})
