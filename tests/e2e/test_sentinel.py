"""Sentinel mode on real Redis, for every bundled profiles/sentinel*.toml, in order on one
deployment per profile:
  1. every pod starts in parallel: exactly one master ever, every replica linked, every
     Sentinel agrees on the master and sees every replica and every other Sentinel;
  2. 1000 keys written to the master, each acknowledged by WAIT 1;
  3. SIGKILL the master: the surviving Sentinels agree on a new master within down-after plus
     failover time, no acknowledged key is lost, and the old master, recreated (new IP, same
     data), comes back as a replica without ever being a master in between; then a graceful
     delete of the master: its preStop (writes paused, replicas caught up, SENTINEL FAILOVER)
     has the Sentinels name another master in less than down-after, no key lost, rejoin;
  4. every pod killed and recreated with new IPs: exactly one master, healthy again, and with
     persistent storage no acknowledged key lost (a cache without persistence starts empty:
     the keys lost are reported, not asserted);
  5. with persistent storage, the master is not pod 0 (a failover if needed), and a full
     restart where the Sentinels are slow: each sentinel container first runs, for longer than
     the Redis pods ask, a Sentinel that knows no master (every answer is "No such master").
     Pod 0 must not start as master on its own: its Sentinel's persisted state (same volume)
     says the deployment ran before. Exactly one master throughout, pod 0 never one, no
     acknowledged key lost.
Figures go to stdout (-s) and to $E2E_FIGURES with the cluster figures.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import secrets
import shutil
import subprocess
import sys
import threading
import time
import tomllib

import pytest

import render
from emulator import Cluster, HarnessError, Runtime
from emulator.manifests import load_documents
from scenarios import Figures, run_step

HERE = pathlib.Path(__file__).resolve().parent
PROFILES = sorted((render.REPO / "profiles").glob("sentinel*.toml"))
KEYS = 1000
FORM_TIMEOUT = 120
REJOIN_TIMEOUT = 90
FULL_RESTART_TIMEOUT = 90
# Step 5: how long each sentinel container runs a Sentinel that knows no master before its
# real start script; longer than the Redis pods' SENTINEL_ASK_SECONDS (read from the render).
SLOW_SENTINEL_MARGIN = 15
SLOW_SENTINEL_TIMEOUT = 240
STABLE = 3.0
# Step 3, the graceful delete of the master: the Sentinels name another master in less than
# the profile's down-after (what a stop costs without the preStop hand-over: down-after, then
# an election), and the time is recorded against the goal. The bound was a fixed 4 s
# (measured 1.3-2.5 s); with four e2e groups on 2 cores (load average 25-35) it measured 4.09 s
# once, still far below the 5 s down-after of that profile.
HANDOVER_GOAL_SECONDS = 4.0


@dataclasses.dataclass
class Setup:
    """A rendered Sentinel profile and what the tests need to know about it."""

    name: str
    objects: list[dict]
    namespace: str
    domain: str
    password: str
    statefulset: str
    headless: str
    pods: int
    port: int
    sentinel_port: int
    master_set: str
    down_after_s: float
    failover_timeout_s: float
    persistent: bool


def render_sentinel(binary: pathlib.Path, profile: pathlib.Path, out: pathlib.Path,
                    password: str | None = None) -> Setup:
    """`redkube render -o`, with what a user adds by hand: $REDIS_PASSWORD or the Secret.
    PASSWORD: the one a user keeps across renders; a new random one when None."""
    spec = tomllib.loads(profile.read_text())
    auth, env, extra = spec.get("auth") or {}, dict(os.environ), []
    namespace = spec.get("namespace", "default")
    password = auth.get("password") or password or secrets.token_urlsafe(18)
    if "password-env" in auth:
        env[auth["password-env"]] = password
    elif "existing-secret" in auth:
        ref = auth["existing-secret"]
        extra.append(render.user_secret(ref["name"], ref.get("key", "password"), password,
                                        namespace))
    if out.exists():
        shutil.rmtree(out)
    proc = subprocess.run([str(binary), "render", str(profile), "-o", str(out)], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, f"redkube render {profile} failed:\n{proc.stderr}"
    objects = extra + load_documents(out)
    sts = next(o for o in objects if o["kind"] == "StatefulSet")
    containers = {c["name"]: c for c in sts["spec"]["template"]["spec"]["containers"]}
    s = spec.get("sentinel") or {}
    return Setup(
        name=profile.stem, objects=objects, namespace=namespace,
        domain=spec.get("cluster-domain", "cluster.local"), password=password,
        statefulset=sts["metadata"]["name"], headless=sts["spec"]["serviceName"],
        pods=int(sts["spec"]["replicas"]),
        port=int(containers["redis"]["ports"][0]["containerPort"]),
        sentinel_port=int(containers["sentinel"]["ports"][0]["containerPort"]),
        master_set=s.get("master-set", "mymaster"),
        down_after_s=s.get("down-after-ms", 5000) / 1000,
        failover_timeout_s=s.get("failover-timeout-ms", 60000) / 1000,
        persistent=bool(sts["spec"].get("volumeClaimTemplates")),
    )


class SentinelDeployment:
    def __init__(self, runtime: Runtime, setup: Setup):
        self.s = setup
        self.cluster: Cluster = runtime.cluster(setup.name, cluster_domain=setup.domain,
                                                default_namespace=setup.namespace)
        self.cluster.apply(setup.objects)
        self.figures = Figures(setup.name)
        self.names = [f"{setup.statefulset}-{i}" for i in range(setup.pods)]
        self.acked: list[str] = []
        self.max_masters = 0  # the most pods that ever reported role:master at once
        self.failed: str | None = None

    def host(self, pod: str) -> str:
        s = self.s
        return f"{pod}.{s.headless}.{s.namespace}.svc.{s.domain}"

    def client(self, command: str, request: dict, timeout: float = 120) -> dict:
        pod = self.cluster.client_pod(namespace=self.s.namespace)
        r = pod.exec([sys.executable, str(HERE / "sentinel_client.py"), command],
                     timeout=timeout, input=json.dumps(request),
                     env={"E2E_REDIS_PASSWORD": self.s.password})
        if not r.ok:
            raise HarnessError(f"sentinel_client.py {command} failed: {r.stderr[-2000:]}")
        return json.loads(r.stdout)

    def view(self, pods: list[str]) -> dict:
        hosts = {p: self.host(p) for p in pods}
        v = self.client("view", {"redis": hosts, "sentinels": hosts, "port": self.s.port,
                                 "sentinel_port": self.s.sentinel_port,
                                 "set": self.s.master_set}, timeout=60)
        masters = [p for p, r in v["redis"].items() if r.get("role") == "master"]
        self.max_masters = max(self.max_masters, len(masters))
        return v

    def judge(self, v: dict, alive: list[str]) -> tuple[str | None, list[str]]:
        """The master pod and every problem, for the pods in ALIVE."""
        problems = []
        masters = [p for p in alive if v["redis"][p].get("role") == "master"]
        if len(masters) != 1:
            return None, [f"{len(masters)} masters: {masters}"]
        master = masters[0]
        mhost = self.host(master)
        for p in alive:
            r = v["redis"][p]
            if p != master and (r.get("role") != "slave" or r.get("master_host") != mhost
                                or r.get("master_link_status") != "up"):
                problems.append(f"{p}: role={r.get('role')} master_host={r.get('master_host')}"
                                f" link={r.get('master_link_status')} {r.get('error', '')}")
        want_replicas = {self.host(p) for p in alive if p != master}
        for p in alive:
            s = v["sentinels"][p]
            if "error" in s:
                problems.append(f"sentinel {p}: {s['error']}")
                continue
            m = s["master"]
            if m.get("ip") != mhost or m.get("flags") != "master":
                problems.append(f"sentinel {p}: master {m.get('ip')} flags {m.get('flags')}")
            seen = {x.get("ip") for x in s["replicas"]
                    if not any(f in x.get("flags", "") for f in ("s_down", "disconnected"))}
            if not want_replicas <= seen:
                problems.append(f"sentinel {p}: misses replicas {sorted(want_replicas - seen)}")
            peers = [x for x in s["sentinels"] if "s_down" not in x.get("flags", "")]
            if len(peers) < len(alive) - 1:
                problems.append(f"sentinel {p}: sees {len(peers)} of {len(alive) - 1} Sentinels")
        return master, problems

    def wait_healthy(self, alive: list[str], timeout: float, what: str,
                     watch_not_master: str | None = None) -> tuple[float, str]:
        """Seconds until ALIVE was healthy and stayed so for STABLE seconds; the master.
        WATCH_NOT_MASTER: a pod that must never report role:master meanwhile."""
        start = time.monotonic()
        healthy_since, last = None, []
        while time.monotonic() - start < timeout:
            v = self.view(alive)
            if watch_not_master and v["redis"][watch_not_master].get("role") == "master":
                raise AssertionError(f"{watch_not_master} ran as a master while rejoining")
            master, last = self.judge(v, alive)
            now = time.monotonic()
            if not last:
                healthy_since = healthy_since or now
                if now - healthy_since >= STABLE:
                    return healthy_since - start, master
            else:
                healthy_since = None
            time.sleep(0.5)
        raise AssertionError(f"not {what} within {timeout}s: {last}\n"
                             f"{self.cluster.logs_report(lines=30)[-6000:]}")

    def read_lost(self, master: str) -> int:
        got = self.client("read", {"host": self.host(master), "port": self.s.port,
                                   "keys": self.acked})
        return len(got["missing"]) + len(got["wrong"])


@pytest.fixture(scope="module", params=PROFILES, ids=[p.stem for p in PROFILES])
def dep(request, runtime, redkube_bin, tmp_path_factory, figures_sink):
    setup = render_sentinel(redkube_bin, request.param,
                            tmp_path_factory.mktemp(request.param.stem) / "rendered")
    d = SentinelDeployment(runtime, setup)
    figures_sink.append(d.figures)
    yield d
    d.cluster.close()


def test_1_parallel_start_gives_one_master(dep):
    def run():
        start = time.monotonic()
        dep.cluster.start_statefulset(dep.s.statefulset, dep.s.namespace)
        secs, master = dep.wait_healthy(dep.names, FORM_TIMEOUT, "formed")
        dep.figures.record("pod_start_to_healthy_seconds",
                           round(time.monotonic() - start - STABLE, 1))
        assert dep.max_masters == 1, f"{dep.max_masters} masters at once during the start"
    run_step(dep, "1", run)


def test_2_acknowledged_writes(dep):
    def run():
        _, master = dep.wait_healthy(dep.names, 30, "healthy")
        got = dep.client("write", {"host": dep.host(master), "port": dep.s.port,
                                   "prefix": "k", "count": KEYS, "wait_timeout_ms": 2000})
        dep.acked = got["acked"]
        dep.figures.record("keys_acknowledged", len(dep.acked))
        assert len(dep.acked) == KEYS, f"unacknowledged: {list(got['unacked'].items())[:5]}"
        assert dep.read_lost(master) == 0
    run_step(dep, "2", run)


def test_3_failover_after_sigkill_of_the_master(dep):
    def run():
        _, old = dep.wait_healthy(dep.names, 30, "healthy")
        dep.cluster.kill_pod(dep.cluster.pod(old, dep.s.namespace))
        killed_at = time.monotonic()
        survivors = [p for p in dep.names if p != old]
        budget = dep.s.down_after_s + dep.s.failover_timeout_s
        _, new = dep.wait_healthy(survivors, budget, "failed over")
        failover = round(time.monotonic() - killed_at - STABLE, 1)
        dep.figures.record("failover_seconds", failover)
        assert new != old
        lost = dep.read_lost(new)
        dep.figures.record("keys_lost_after_failover", lost)
        assert lost == 0

        dep.cluster.recreate_pod(old, dep.s.namespace)
        rejoin_start = time.monotonic()
        _, master = dep.wait_healthy(dep.names, REJOIN_TIMEOUT, "rejoined",
                                     watch_not_master=old)
        dep.figures.record("old_master_rejoin_seconds", round(time.monotonic() - rejoin_start
                                                              - STABLE, 1))
        assert master == new, f"the master moved to {master} when {old} came back"
        graceful_handover(dep, master)
    run_step(dep, "3", run)


def _sentinel_master(dep, pod: str) -> str | None:
    """The master host the Sentinel of POD names, or None when it does not answer cleanly."""
    try:
        r = dep.cluster.pod(pod, dep.s.namespace).exec(
            ["redis-cli", "--no-auth-warning", "-p", str(dep.s.sentinel_port), "sentinel",
             "get-master-addr-by-name", dep.s.master_set], timeout=5, container="sentinel",
            env={"REDISCLI_AUTH": dep.s.password})
    except HarnessError:
        return None
    lines = r.stdout.split()
    return lines[0] if r.ok and len(lines) == 2 else None


def graceful_handover(dep, master: str) -> None:
    """Step 3, last part: a graceful delete of the master (as a rolling update or a drain
    does) runs its preStop: writes paused, the replicas caught up, SENTINEL FAILOVER. The
    Sentinels of the other pods name another master in less than down-after after the delete
    (without the hook: down-after, then an election), which requires the failover to finish
    while the old master's writes, the Sentinels' hello PUBLISH included, are paused. No
    acknowledged key is lost, every Sentinel still sees every other one, and the pod,
    recreated, rejoins as a replica."""
    survivors = [p for p in dep.names if p != master]
    pod = dep.cluster.pod(master, dep.s.namespace)
    start = time.monotonic()
    deleting = threading.Thread(target=dep.cluster.delete_pod, args=(pod,), daemon=True)
    deleting.start()
    named, secs = None, None
    bound = dep.s.down_after_s
    while named is None and time.monotonic() - start < bound + 30:
        for p in survivors:
            host = _sentinel_master(dep, p)
            if host and host != dep.host(master):
                named, secs = host, round(time.monotonic() - start, 2)
                break
        time.sleep(0.05)
    deleting.join(timeout=120)
    dep.figures.record("graceful_delete_seconds", round(time.monotonic() - start, 1))
    dep.figures.record("handover_seconds", secs)
    dep.figures.record("handover_within_goal", secs is not None and secs <= HANDOVER_GOAL_SECONDS)
    assert named is not None and secs < bound, (
        f"a graceful delete of {master}: no Sentinel named another master in less than "
        f"down-after, {bound}s (got {named} after {secs}s)\n"
        f"{dep.cluster.logs_report(lines=30)[-6000:]}")
    _, new = dep.wait_healthy(survivors, 60, "handed over")
    assert dep.host(new) == named, f"the Sentinels named {named}, the master is {new}"
    lost = dep.read_lost(new)
    dep.figures.record("keys_lost_after_handover", lost)
    assert lost == 0
    dep.cluster.recreate_pod(master, dep.s.namespace)
    _, now = dep.wait_healthy(dep.names, REJOIN_TIMEOUT, "rejoined after the hand-over",
                              watch_not_master=master)
    assert now == new, f"the master moved to {now} when {master} came back"


def test_3b_crash_of_the_masters_redis_container(dep):
    """SIGKILL of the master's Redis container, restarted in place by the kubelet (same IP,
    same volumes, its Sentinel still running): no acknowledged key lost. Without persistence
    the restarted master is empty and must not start as master over replicas that hold the
    data."""
    def run():
        _, master = dep.wait_healthy(dep.names, 30, "healthy")
        container = dep.cluster.pod(master, dep.s.namespace).container("redis")
        before = container.restarts
        start = time.monotonic()
        container.crash()
        container.wait_restarted(before, 30)
        budget = dep.s.down_after_s + dep.s.failover_timeout_s + REJOIN_TIMEOUT
        _, now = dep.wait_healthy(dep.names, budget, "healthy after the master's Redis crashed")
        dep.figures.record("container_crash_recovery_seconds",
                           round(time.monotonic() - start - STABLE, 1))
        lost = dep.read_lost(now)
        dep.figures.record("keys_lost_after_container_crash", lost)
        assert lost == 0
    run_step(dep, "3b", run)


def test_4_full_restart_with_new_ips(dep):
    def run():
        dep.wait_healthy(dep.names, 30, "healthy")
        for name in dep.names:
            dep.cluster.kill_pod(dep.cluster.pod(name, dep.s.namespace))
        dep.max_masters = 0
        start = time.monotonic()
        dep.cluster.recreate_pods(dep.names, dep.s.namespace)
        _, master = dep.wait_healthy(dep.names, FULL_RESTART_TIMEOUT, "healthy after restart")
        dep.figures.record("full_restart_recovery_seconds",
                           round(time.monotonic() - start - STABLE, 1))
        assert dep.max_masters == 1, f"{dep.max_masters} masters at once after the restart"
        lost = dep.read_lost(master)
        dep.figures.record("keys_lost_after_full_restart", lost)
        if dep.s.persistent:
            assert lost == 0
    run_step(dep, "4", run)


def _slow_sentinels(sts: dict, port: int, hold: int) -> dict:
    """A copy of the StatefulSet whose sentinel containers first run, for HOLD seconds, a
    Sentinel on PORT that monitors nothing (it answers "No such master" to everyone), then
    their own command: the Sentinels of a full restart that are up but slow to know a master."""
    sts = json.loads(json.dumps(sts))
    for c in sts["spec"]["template"]["spec"]["containers"]:
        if c["name"] != "sentinel":
            continue
        hold_script = (
            f"printf 'port {port}\\nprotected-mode no\\ndir /tmp\\n' > /tmp/slow-sentinel.conf; "
            "redis-sentinel /tmp/slow-sentinel.conf & slow=$!; "
            f"sleep {hold}; kill $slow; wait $slow; "
            'echo "e2e: the slow Sentinel stops; the real start script runs"; exec "$@"'
        )
        c["command"] = ["sh", "-c", hold_script, "slow-sentinel", *c["command"]]
    return sts


def _sentinel_ask_seconds(setup: Setup) -> int:
    for o in setup.objects:
        if o["kind"] == "ConfigMap":
            for line in (o.get("data") or {}).get("start.sh", "").splitlines():
                if line.startswith("SENTINEL_ASK_SECONDS="):
                    return int(line.split("=", 1)[1])
    raise AssertionError("no SENTINEL_ASK_SECONDS= line in the rendered start.sh")


def _persisted_monitor(dep, pod: str) -> str:
    """The `sentinel monitor` line of POD's Sentinel state on its data volume."""
    for conf in dep.cluster.claim_dir(f"data-{pod}", dep.s.namespace).rglob("sentinel.conf"):
        for line in conf.read_text().splitlines():
            if line.startswith("sentinel monitor "):
                return line
    return ""


def test_5_full_restart_with_slow_sentinels(dep):
    if not dep.s.persistent:
        pytest.skip("no persistent storage: nothing to keep across a full restart")

    def run():
        first = dep.names[0]
        _, master = dep.wait_healthy(dep.names, 30, "healthy")
        if master == first:
            # Make another pod master: SENTINEL FAILOVER promotes a replica.
            got = dep.client("failover", {"host": dep.host(dep.names[1]),
                                          "sentinel_port": dep.s.sentinel_port,
                                          "set": dep.s.master_set})
            assert "error" not in got, got
            budget = dep.s.down_after_s + dep.s.failover_timeout_s
            deadline = time.monotonic() + budget
            while master == first and time.monotonic() < deadline:
                _, master = dep.wait_healthy(dep.names, budget, "failed over by request")
            assert master != first, f"{first} is still master after SENTINEL FAILOVER"
        # Pod 0's own Sentinel persisted the current master (Sentinel rewrites its config on
        # a switch); give it a moment.
        deadline = time.monotonic() + 10
        while dep.host(master) not in _persisted_monitor(dep, first) and \
                time.monotonic() < deadline:
            time.sleep(0.5)
        persisted = _persisted_monitor(dep, first)
        print(f"\n[{dep.s.name}] step 5: master {master}; {first} persisted: {persisted}")
        assert dep.host(master) in persisted, persisted

        ns = dep.s.namespace
        original = dep.cluster.store.get("StatefulSet", ns, dep.s.statefulset)
        hold = _sentinel_ask_seconds(dep.s) + SLOW_SENTINEL_MARGIN
        for name in dep.names:
            dep.cluster.kill_pod(dep.cluster.pod(name, ns))
        dep.cluster.apply([_slow_sentinels(original, dep.s.sentinel_port, hold)])
        try:
            dep.max_masters = 0
            start = time.monotonic()
            dep.cluster.recreate_pods(dep.names, ns)
            _, now = dep.wait_healthy(dep.names, SLOW_SENTINEL_TIMEOUT,
                                      "healthy after a restart with slow Sentinels",
                                      watch_not_master=first)
        finally:
            dep.cluster.apply([json.loads(json.dumps(original))])
        dep.figures.record("slow_sentinels_restart_recovery_seconds",
                           round(time.monotonic() - start - STABLE, 1))
        assert dep.max_masters == 1, f"{dep.max_masters} masters at once after the restart"
        assert now != first
        logs = dep.cluster.pod(first, ns).log_text()
        print(f"[{dep.s.name}] step 5: healthy, master {now}, in "
              f"{round(time.monotonic() - start - STABLE, 1)}s")
        lost = dep.read_lost(now)
        dep.figures.record("keys_lost_after_slow_sentinels_restart", lost)
        assert lost == 0
        assert "this deployment has run before" in logs, logs[-3000:]
    run_step(dep, "5", run)
