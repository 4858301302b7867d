"""The e2e scenarios as steps on one deployed profile, shared by the positive tests
(test_cluster.py runs them in order on one formed cluster) and the negative controls (which
assert the step at which a broken copy fails).

Every step raises ScenarioFailure(step, why) on failure; every wait has a deadline.
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
import threading
import time

import pytest

from cluster_health import Health, RedisClusterClient, parse_info
from emulator import Cluster, HarnessError, Runtime
from render import Rendered
from script_contract import budget_seconds

# Budgets, in seconds. The Job's own activeDeadlineSeconds still applies when shorter.
JOB_TIMEOUT = 240
HEALTH_AFTER_JOB = 30
FAILOVER_MARGIN = 15
REJOIN_TIMEOUT = 60
FULL_RESTART_TIMEOUT = 60
# The first pod of an emptyDir cluster waits SELF_FORM_WAIT_SECONDS (read from the render)
# before it forms the cluster again, then polls every 5 s: a margin over that wait.
SELF_FORM_MARGIN = 15
STABLE = 6.0
# Step R: megabytes loaded into slot 0's shard (below every cluster profile's maxmemory), and
# the bound on the recreated replica's sync and readiness.
LOAD_MB = 150
SYNC_TIMEOUT = 45
QUICK_STABLE = 2.0
# Step 4, the graceful delete: the master's preStop (CLUSTER FAILOVER on its replica) makes the
# replica master within this (without it: node-timeout, 5 s in every profile, and an election).
HANDOVER_SECONDS = 2.5


class ScenarioFailure(AssertionError):
    def __init__(self, step: str, why: str):
        self.step = step
        super().__init__(f"scenario {step} failed: {why}")


@dataclasses.dataclass
class Figures:
    """Measured numbers, printed at once and collected for the JSON summary."""

    profile: str
    values: dict = dataclasses.field(default_factory=dict)

    def record(self, name: str, value) -> None:
        self.values[name] = value
        print(f"\nFIGURE {self.profile}: {name} = {value}", flush=True)


class Deployment:
    """One rendered profile applied to its own emulated cluster."""

    def __init__(self, runtime: Runtime, rendered: Rendered, objects: list[dict],
                 name: str, namespace: str | None = None):
        self.rendered = rendered
        self.namespace = namespace or rendered.namespace
        self.cluster: Cluster = runtime.cluster(
            name, cluster_domain=rendered.cluster_domain, default_namespace=self.namespace)
        self.cluster.apply(objects)
        self.figures = Figures(name)
        self.client: RedisClusterClient | None = None
        self.acked: list[str] = []
        self.failed: str | None = None  # the first failed step; later steps are skipped

    # -- helpers ------------------------------------------------------------------------------

    def _client(self) -> RedisClusterClient:
        if self.client is None:
            pod = self.cluster.client_pod(namespace=self.namespace)
            r = self.rendered
            self.client = RedisClusterClient(self.cluster, pod, r.statefulset, self.namespace,
                                             r.port, r.password, r.masters, r.pods)
        return self.client

    def _wait_healthy(self, step: str, since: float, timeout: float, stable: float,
                      down: dict[str, str] | None = None,
                      what: str = "healthy") -> tuple[float, Health]:
        """Seconds from SINCE until the cluster was first healthy (and then stayed so for
        STABLE seconds), and that health."""
        waited_from = time.monotonic()
        try:
            secs, health = self._client().wait_healthy(timeout, stable=stable, down=down,
                                                       what=what)
        except HarnessError as e:
            raise ScenarioFailure(step, str(e)) from None
        return round(waited_from - since + secs, 1), health

    def _check_keys(self, step: str) -> int:
        missing, wrong = self._client().read(self.acked)
        self.figures.record(f"keys_lost_{step}", len(missing) + len(wrong))
        if missing or wrong:
            raise ScenarioFailure(step, f"{len(missing)} acknowledged keys missing "
                                        f"(e.g. {missing[:5]}), {len(wrong)} wrong "
                                        f"(e.g. {wrong[:5]})")
        return len(self.acked)

    def _run_job(self, step: str, timeout: float):
        r = self.cluster.run_job(self.rendered.job, self.namespace, timeout=timeout)
        if not r.succeeded:
            try:
                now = str(self._client().health())
            except HarnessError as e:
                now = f"(no health snapshot: {e})"
            raise ScenarioFailure(step, f"reconcile Job did not succeed: {r.reason}, exit "
                                        f"codes {r.exit_codes}.\nCluster now: {now}\n"
                                        f"Job log (tail):\n{r.logs[-4000:]}")
        return r

    # -- scenarios ----------------------------------------------------------------------------

    def form(self, job_timeout: float = JOB_TIMEOUT) -> Health:
        """1. Pods start in parallel, the reconcile Job exits 0, the cluster is healthy."""
        t0 = time.monotonic()
        pods = self.cluster.start_statefulset(self.rendered.statefulset, self.namespace)
        self._client()
        job = self._run_job("1", job_timeout)
        self.figures.record("reconcile_job_seconds", round(job.seconds, 1))
        secs, health = self._wait_healthy("1", t0, HEALTH_AFTER_JOB, QUICK_STABLE)
        self.figures.record("pod_start_to_healthy_seconds", secs)
        self.figures.record("read_only_root", all(
            p.containers[0].status().get("read_only_root") is True for p in pods))
        return health

    def write(self, count: int = 1000, step: str = "2") -> None:
        """2. COUNT keys through a cluster-aware client, each acknowledged by WAIT 1."""
        acked, unacked = self._client().write(count, prefix=f"e2e:{self.figures.profile}:{step}")
        self.acked = acked
        self.figures.record("keys_acknowledged" if step == "2" else f"keys_acknowledged_{step}",
                            len(acked))
        if unacked:
            sample = dict(list(unacked.items())[:5])
            raise ScenarioFailure(step, f"{len(unacked)} of {count} writes not acknowledged "
                                        f"by a replica: {sample}")
        self._check_keys(step)

    def rerun_job(self) -> None:
        """3. The reconcile Job again: exit 0, node IDs and slot map unchanged."""
        before = self._client().health()
        if not before.ok:
            raise ScenarioFailure("3", f"not healthy before the second Job run: {before}")
        self._run_job("3", JOB_TIMEOUT)
        after = self._client().health()
        if not after.ok:
            raise ScenarioFailure("3", f"after the second Job run: {after}")
        if after.ids != before.ids:
            raise ScenarioFailure("3", f"node IDs changed: {before.ids} -> {after.ids}")
        if after.slot_owner != before.slot_owner:
            raise ScenarioFailure("3", "the slot map changed")

    def failover(self) -> None:
        """4. SIGKILL the master of slot 0: its replica takes over within node-timeout plus a
        margin, no acknowledged key is lost, and the recreated pod (new IP, same claims)
        rejoins as a replica."""
        health = self._client().health()
        victim = health.owner_pod(0)
        if victim is None or not health.ok:
            raise ScenarioFailure("4", f"no healthy owner of slot 0 to kill: {health}")
        replicas = health.replicas_of(victim)
        victim_id = health.ids[victim]
        pod = self.cluster.pod(victim, self.namespace)
        old_ip = pod.ip
        t0 = time.monotonic()
        self.cluster.kill_pod(pod)
        budget = self.rendered.node_timeout_ms / 1000 + FAILOVER_MARGIN
        secs, degraded = self._wait_healthy("4", t0, budget, QUICK_STABLE,
                                            down={victim: victim_id},
                                            what=f"failed over from {victim}")
        self.figures.record("failover_seconds", secs)
        promoted = degraded.owner_pod(0)
        if promoted not in replicas:
            raise ScenarioFailure("4", f"slot 0 moved to {promoted}, not to a replica of "
                                       f"{victim} ({replicas})")
        self._check_keys("4")
        t1 = time.monotonic()
        new = self.cluster.recreate_pod(victim, self.namespace)
        if new.ip == old_ip:
            raise ScenarioFailure("4", f"recreated {victim} kept IP {old_ip}")
        secs, healed = self._wait_healthy("4", t1, REJOIN_TIMEOUT, QUICK_STABLE,
                                          what=f"healthy with {victim} back")
        self.figures.record("rejoin_seconds", secs)
        # With claims the pod keeps nodes.conf, hence its node ID; with emptyDir data it is a
        # new node, and the healthy check above already demands the old ID be forgotten.
        if self.rendered.persistent and healed.ids.get(victim) != victim_id:
            raise ScenarioFailure("4", f"{victim} came back as a new node "
                                       f"{healed.ids.get(victim)} (was {victim_id})")
        if healed.roles.get(victim) != "slave":
            raise ScenarioFailure("4", f"{victim} rejoined as {healed.roles.get(victim)}, "
                                       f"not as a replica")
        self._graceful_handover("4")

    def _graceful_handover(self, step: str) -> None:
        """A graceful delete of slot 0's master (as a rolling update or a drain does) runs its
        preStop: CLUSTER FAILOVER on its replica with the highest offset, which must be master
        within HANDOVER_SECONDS of the delete. No acknowledged key is lost, and the pod,
        recreated, rejoins as a replica."""
        health = self._client().health()
        master = health.owner_pod(0)
        if master is None or not health.ok:
            raise ScenarioFailure(step, f"no healthy owner of slot 0 to delete: {health}")
        master_id = health.ids[master]
        replicas = {r: self.cluster.pod(r, self.namespace) for r in health.replicas_of(master)}
        pod = self.cluster.pod(master, self.namespace)
        t0 = time.monotonic()
        deleting = threading.Thread(target=self.cluster.delete_pod, args=(pod,), daemon=True)
        deleting.start()
        promoted, secs = None, None
        while promoted is None and time.monotonic() - t0 < HANDOVER_SECONDS + 15:
            for name, p in replicas.items():
                if self._replication(p).get("role") == "master":
                    promoted, secs = name, round(time.monotonic() - t0, 2)
            time.sleep(0.05)
        deleting.join(timeout=120)
        self.figures.record("graceful_delete_seconds", round(time.monotonic() - t0, 1))
        self.figures.record("handover_seconds", secs)
        if promoted is None or secs > HANDOVER_SECONDS:
            raise ScenarioFailure(step, f"a graceful delete of {master}: no replica of it "
                                        f"({sorted(replicas)}) was master within "
                                        f"{HANDOVER_SECONDS}s (promoted: {promoted} after "
                                        f"{secs}s)\n{self.cluster.logs_report(lines=30)[-6000:]}")
        _, degraded = self._wait_healthy(step, t0, REJOIN_TIMEOUT, QUICK_STABLE,
                                         down={master: master_id},
                                         what=f"handed over from {master}")
        if degraded.owner_pod(0) != promoted:
            raise ScenarioFailure(step, f"slot 0 is on {degraded.owner_pod(0)}, not on "
                                        f"{promoted}")
        self._check_keys(step)
        t1 = time.monotonic()
        self.cluster.recreate_pod(master, self.namespace)
        _, healed = self._wait_healthy(step, t1, REJOIN_TIMEOUT, QUICK_STABLE,
                                       what=f"healthy with {master} back")
        if healed.roles.get(master) != "slave":
            raise ScenarioFailure(step, f"{master} came back as {healed.roles.get(master)} "
                                        f"after its hand-over, not as a replica")

    def container_crash(self) -> None:
        """4b. SIGKILL the Redis container of slot 0's master, as the OOM killer does: the
        kubelet restarts it in the same pod (same IP, same volumes, so nodes.conf survives
        while data without persistence does not). The cluster is healthy again and no
        acknowledged key is lost: an empty master must not hand its emptiness to replicas."""
        health = self._client().health()
        victim = health.owner_pod(0)
        if victim is None or not health.ok:
            raise ScenarioFailure("4b", f"no healthy owner of slot 0: {health}")
        container = self.cluster.pod(victim, self.namespace).container("redis")
        before = container.restarts
        t0 = time.monotonic()
        try:
            container.crash()
            container.wait_restarted(before, 30)
        except HarnessError as e:
            raise ScenarioFailure("4b", str(e)) from None
        budget = budget_seconds(self.rendered, "EMPTY_MASTER_WAIT_SECONDS") + REJOIN_TIMEOUT
        secs, _ = self._wait_healthy("4b", t0, budget, STABLE,
                                     what=f"healthy after {victim}'s Redis container crashed")
        self.figures.record("container_crash_recovery_seconds", secs)
        self._check_keys("4b")

    def full_restart(self, timeout: float = FULL_RESTART_TIMEOUT) -> None:
        """5. Kill every pod, recreate all with new IPs and no Job run.
        Persistent data: healthy (stable for 6 s) within TIMEOUT, every acknowledged key
        present. emptyDir data: every pod comes back empty, and the first pod must form the
        cluster again by itself (after SELF_FORM_WAIT_SECONDS of unchanged emptiness); the keys are
        gone by design, and the new cluster takes acknowledged writes."""
        persistent = self.rendered.persistent
        pods = self.cluster.statefulset_pods(self.rendered.statefulset, self.namespace)
        names = [p.name for p in pods]
        old_ips = {p.name: p.ip for p in pods}
        for p in pods:
            self.cluster.kill_pod(p)
        t0 = time.monotonic()
        new = self.cluster.recreate_pods(names, self.namespace)
        reused = [p.name for p in new if p.ip in old_ips.values()]
        if reused:
            raise ScenarioFailure("5", f"pods got old IPs back: {reused}")
        self_form = budget_seconds(self.rendered, "SELF_FORM_WAIT_SECONDS") + SELF_FORM_MARGIN
        budget = timeout if persistent else timeout + self_form
        what = "healthy after a full restart" if persistent else "formed again by the first pod"
        secs, _ = self._wait_healthy("5", t0, budget, STABLE, what=what)
        self.figures.record("full_restart_recovery_seconds", secs)
        if persistent:
            self._check_keys("5")
            return
        missing, _ = self._client().read(self.acked)
        self.figures.record("keys_gone_with_the_emptydirs", len(missing))
        self.write(100, step="5")


    def replica_sync_readiness(self) -> None:
        """R. A replica is not Ready before it holds its master's data (issue 11, item 1).
        Loads ~LOAD_MB of 1 MB values into the shard of slot 0, kills that master's replica,
        wipes its claims (emptyDir data is gone anyway) and recreates it: it rejoins as a new
        node and needs a full sync. Sampled every ~0.2 s, the pod must never be Ready while
        its INFO replication shows anything but a linked replica with no sync in progress, and
        it must become Ready after the sync."""
        health = self._client().health()
        master = health.owner_pod(0)
        if master is None or not health.ok:
            raise ScenarioFailure("R", f"no healthy owner of slot 0: {health}")
        replica = health.replicas_of(master)[0]
        master_ip = self.cluster.pod(master, self.namespace).ip
        t_load = time.monotonic()
        loaded = self._load_slot_0(master_ip, LOAD_MB)
        self.figures.record("sync_load_mb", loaded)
        self.figures.record("sync_load_seconds", round(time.monotonic() - t_load, 1))
        pod = self.cluster.pod(replica, self.namespace)
        self.cluster.kill_pod(pod)
        for path in pod.claims.values():
            for child in path.iterdir():
                shutil.rmtree(child) if child.is_dir() and not child.is_symlink() \
                    else child.unlink()
        new = self.cluster.recreate_pod(replica, self.namespace)
        t0 = time.monotonic()
        samples = []   # (seconds, ready before, INFO fields, ready after)
        violations = []
        ready_at = None
        while time.monotonic() - t0 < SYNC_TIMEOUT:
            before = new.ready
            repl = self._replication(new)
            after = new.ready
            t = round(time.monotonic() - t0, 2)
            samples.append((t, before, repl, after))
            synced = (repl.get("role") == "slave" and repl.get("master_link_status") == "up"
                      and repl.get("master_sync_in_progress") == "0")
            if before and after and not synced:
                violations.append((t, repl))
            if synced and after:
                ready_at = t
                break
            time.sleep(0.2)
        syncing = [t for t, _, r, _ in samples if r.get("master_sync_in_progress") == "1"]
        self.figures.record("samples_sync_in_progress", len(syncing))
        unsynced = [t for t, _, r, _ in samples if r and r.get("role") == "slave"
                    and r.get("master_link_status") != "up"]
        linked = next((t for t, _, r, _ in samples if r.get("master_link_status") == "up"), None)
        if unsynced and linked is not None:
            # From the first look at it as an unlinked replica to its link up: the wait for
            # the master's (diskless) RDB, its transfer and its load.
            self.figures.record("full_sync_seconds", round(linked - unsynced[0], 1))
        self.figures.record("replica_ready_after_recreate_seconds", ready_at)
        self.figures.record("readiness_samples", len(samples))
        self.figures.record("samples_unsynced_not_ready", sum(
            1 for _, b, r, a in samples if r and r.get("role") == "slave"
            and r.get("master_link_status") != "up" and not (b and a)))
        trail = "\n".join(f"  {t:6.2f}s ready={b}/{a} role={r.get('role')} "
                          f"link={r.get('master_link_status')} "
                          f"sync={r.get('master_sync_in_progress')}"
                          for t, b, r, a in samples[-40:])
        if violations:
            raise ScenarioFailure("R", f"{replica} was Ready while not synced, "
                                       f"{len(violations)} samples, first {violations[0]}:\n"
                                       f"{trail}")
        if not unsynced:
            raise ScenarioFailure("R", f"never saw {replica} unsynced: the step proves "
                                       f"nothing\n{trail}")
        if ready_at is None:
            raise ScenarioFailure("R", f"{replica} not Ready and synced within "
                                       f"{SYNC_TIMEOUT}s:\n{trail}")
        _, healed = self._wait_healthy("R", t0, REJOIN_TIMEOUT, QUICK_STABLE,
                                       what=f"healthy with {replica} synced")
        if replica not in healed.replicas_of(master):
            raise ScenarioFailure("R", f"{replica} came back as a replica of another master "
                                       f"than {master}, whose data it had to sync")

    def _load_slot_0(self, master_ip: str, megabytes: int) -> int:
        """MEGABYTES keys of 1 MB in slot 0 on its master, pipelined from the client pod."""
        code = (
            "import os, redis\n"
            "from redis.crc import key_slot\n"
            "tags = (str(n) for n in range(10**6))\n"
            "tag = next(t for t in tags if key_slot(('{' + t + '}').encode()) == 0)\n"
            f"r = redis.Redis(host={master_ip!r}, port={self.rendered.port}, "
            "password=os.environ['E2E_REDIS_PASSWORD'], socket_timeout=60)\n"
            "value = os.urandom(1 << 19).hex().encode()\n"
            f"for start in range(0, {megabytes}, 16):\n"
            "    p = r.pipeline(transaction=False)\n"
            f"    for i in range(start, min(start + 16, {megabytes})):\n"
            "        p.set('e2e:sync:{' + tag + '}:' + str(i), value)\n"
            "    p.execute()\n"
            "print(r.dbsize())\n")
        client = self._client().client
        res = client.exec([sys.executable, "-c", code], timeout=120,
                          env={"E2E_REDIS_PASSWORD": self.rendered.password})
        if not res.ok:
            raise ScenarioFailure("R", f"loading slot 0 failed (exit {res.code}): "
                                       f"{res.stderr[-2000:]}")
        return megabytes

    def _replication(self, pod) -> dict[str, str]:
        """INFO replication of POD, from inside it; {} when it does not answer cleanly."""
        try:
            res = pod.exec(["redis-cli", "--no-auth-warning", "-p", str(self.rendered.port),
                            "info", "replication"], timeout=5,
                           env={"REDISCLI_AUTH": self.rendered.password})
        except HarnessError:
            return {}
        return parse_info(res.stdout) if res.ok else {}


def run_step(dep, step: str, action) -> None:
    """Run one scenario step on DEP (anything with a `failed` attribute). Later steps build on
    earlier ones, so they are skipped once one has failed."""
    if dep.failed:
        pytest.skip(f"scenario {dep.failed} failed on this profile")
    try:
        action()
    except BaseException:
        dep.failed = step
        raise
