"""Day 2 (issue 15, item 6): for every bundled profile, a running deployment holding >= 100 MB
gets three re-renders of its changed profile applied in turn, as `kubectl apply` would
(emulator `Cluster.apply_update`), each under a continuous writer (day2_writer.py: SET +
WAIT 1 every 20 ms per lane, a cluster-aware client, the Sentinels asked after each failure):
  (a) `maxmemory` changed (ConfigMap and pod template: every pod rolls);
  (b) the image tag moved to the next patch release;
  (c) the resources requested raised.
After each: the rollout done, the deployment healthy with every pod at a new IP, figures
recorded (worst write gap overall and per master restart, acknowledged writes during the
apply, keys lost, roll time). At the end every acknowledged key of the three is read back.

The profiles run concurrently (E2E_DAY2_PARALLEL, default all), each on its own emulated
cluster; the tests below wait for their profile's run and judge it:
  * test_day2_rolls_and_heals: every rollout finished, healthy, every pod moved;
  * test_day2_no_acknowledged_write_lost: 0 lost. Without the preStop hand-overs (issue 15,
    item 1: CLUSTER FAILOVER in cluster mode, the write pause before SENTINEL FAILOVER) this is
    the part expected to fail, in Sentinel mode;
  * test_day2_write_gap_per_master_restart: the gaps recorded against the 1 s goal, and
    each master restart shorter than node-timeout / down-after (the hand-over worked);
  * no write answered CLUSTERDOWN during a roll (test_day2_rolls_and_heals).
E2E_DAY2_PROFILES (comma-separated stems) restricts the profiles.
"""

from __future__ import annotations

import dataclasses
import os
import re
import secrets
import threading
import time
import tomllib
import traceback

import pytest

import render
from day2 import CHANGES, ClusterTarget, SentinelTarget, apply_change, load_data, read_back
from scenarios import Deployment, Figures
from test_sentinel import FORM_TIMEOUT, SentinelDeployment, render_sentinel

ALL_PROFILES = sorted((render.REPO / "profiles").glob("*.toml"))
_only = [s for s in os.environ.get("E2E_DAY2_PROFILES", "").split(",") if s]
PROFILES = [p for p in ALL_PROFILES if not _only or p.stem in _only]
LOAD_MB = 100
PARALLEL = int(os.environ.get("E2E_DAY2_PARALLEL", "0")) or len(PROFILES) or 1
RUN_TIMEOUT = 40 * 60  # every profile's whole run, from the fixture's start
GAP_GOAL = 1.0         # seconds of write unavailability per master restart (the goal)


@dataclasses.dataclass
class ProfileRun:
    profile: str
    figures: Figures
    thread: threading.Thread | None = None
    step: str = "not started"
    error: str | None = None
    changes: list = dataclasses.field(default_factory=list)
    acked: list = dataclasses.field(default_factory=list)
    final_lost: list | None = None
    cluster: object = None
    failover_window: float = 0.0  # node-timeout or down-after, seconds

    def join(self, deadline: float) -> ProfileRun:
        self.thread.join(max(0.0, deadline - time.monotonic()))
        if self.thread.is_alive():
            pytest.fail(f"{self.profile}: the day-2 run did not finish in time (at step "
                        f"{self.step})")
        return self


def deploy(runtime, binary, profile, workdir, password, name, breaker=lambda objects: objects):
    """A formed deployment of PROFILE and a function rendering a changed copy of it. BREAKER
    turns every render into a deliberately broken copy (the negative controls)."""
    mode = tomllib.loads(profile.read_text())["mode"]
    if mode == "cluster":
        rendered = render.render_profile(binary, profile, workdir / "render-0", password)
        dep = Deployment(runtime, rendered, breaker(rendered.objects()), name=name)
        dep.form()
        target = ClusterTarget(dep)

        def render_changed(path, out):
            return breaker(render.render_profile(binary, path, out, password).objects())
    else:
        setup = render_sentinel(binary, profile, workdir / "render-0", password)
        dep = SentinelDeployment(runtime, dataclasses.replace(
            setup, name=name, objects=breaker(setup.objects)))
        start = time.monotonic()
        dep.cluster.start_statefulset(setup.statefulset, setup.namespace)
        dep.wait_healthy(dep.names, FORM_TIMEOUT, "formed")
        dep.figures.record("pod_start_to_healthy_seconds", round(time.monotonic() - start, 1))
        target = SentinelTarget(dep)

        def render_changed(path, out):
            return breaker(render_sentinel(binary, path, out, password).objects)
    return target, render_changed


def run_profile(run: ProfileRun, runtime, binary, profile, workdir) -> None:
    figures = run.figures
    password = secrets.token_urlsafe(18)
    run.step = "deploy"
    target, render_changed = deploy(runtime, binary, profile, workdir, password, run.profile)
    run.cluster = target.cluster
    run.step = "load"
    t0 = time.monotonic()
    loaded = load_data(target, LOAD_MB)
    figures.record("load_mb", round(loaded["bytes"] / 1e6))
    figures.record("load_seconds", round(time.monotonic() - t0, 1))
    if min(loaded["replicated"].values()) < 1:
        raise AssertionError(f"the loaded data did not replicate: {loaded['replicated']}")
    path = profile
    for i, change in enumerate(CHANGES, 1):
        run.step = f"{change.name} (render)"
        said = []
        path = render.changed_profile(path, lambda s: said.append(change.edit(s)),
                                      workdir / f"profile-{i}")
        objects = render_changed(path, workdir / f"render-{i}")
        run.failover_window = failover_window_seconds(objects)
        run.step = f"{change.name} (apply)"
        res = apply_change(target, objects, change.name, said[0])
        run.changes.append(res)
        run.acked += res.acked
        figures.record(f"day2_{change.name}", res.figures())
        print(f"\n[{run.profile}] {change.name}: {res.health}\n{res.rollout_report}",
              flush=True)
    run.step = "final read-back"
    missing, wrong = read_back(target, run.acked)
    run.final_lost = missing + wrong
    figures.record("day2_keys_acknowledged_total", len(run.acked))
    figures.record("day2_keys_lost_total", len(run.final_lost))
    figures.record("day2_worst_master_accept_gap_s", max(
        (r.worst_master_accept_gap for r in run.changes
         if r.worst_master_accept_gap is not None), default=None))
    figures.record("day2_worst_master_ack_gap_s", max(
        (r.worst_master_ack_gap for r in run.changes if r.worst_master_ack_gap is not None),
        default=None))
    run.step = "done"


@pytest.fixture(scope="module")
def day2(runtime, redkube_bin, tmp_path_factory, figures_sink):
    """Every profile's day-2 run, started at once in threads (at most PARALLEL at a time)."""
    gate = threading.Semaphore(PARALLEL)
    runs: dict[str, ProfileRun] = {}
    deadline = time.monotonic() + RUN_TIMEOUT
    for profile in PROFILES:
        run = ProfileRun(f"day2-{profile.stem}", Figures(f"day2-{profile.stem}"))
        figures_sink.append(run.figures)
        workdir = tmp_path_factory.mktemp(f"day2-{profile.stem}")

        def body(run=run, profile=profile, workdir=workdir):
            with gate:
                t0 = time.monotonic()
                try:
                    run_profile(run, runtime, redkube_bin, profile, workdir)
                except BaseException as e:
                    run.error = f"at step {run.step}: {type(e).__name__}: {e}\n" + \
                        "".join(traceback.format_exception(e))[-6000:]
                finally:
                    run.figures.record("day2_run_seconds", round(time.monotonic() - t0, 1))
        run.thread = threading.Thread(target=body, name=run.profile, daemon=True)
        runs[profile.stem] = run
        run.thread.start()
    yield runs, deadline
    for run in runs.values():
        run.thread.join(max(0.0, deadline - time.monotonic()))
        if run.cluster is not None:
            run.cluster.close()
        else:
            for c in runtime.clusters:
                if c.name == run.profile:
                    c.close()


def _run(day2, profile) -> ProfileRun:
    runs, deadline = day2
    return runs[profile.stem].join(deadline)


@pytest.mark.parametrize("profile", PROFILES, ids=[p.stem for p in PROFILES])
def test_day2_rolls_and_heals(day2, profile):
    run = _run(day2, profile)
    assert run.error is None, run.error
    for res in run.changes:
        assert res.roll_seconds is not None
        # A roll never takes a shard's last serving copy down (issue 15, item 2): readiness
        # waits for the sync, and masters hand over first. test_day2_negative (c) shows a
        # roll whose readiness ignores the sync answering CLUSTERDOWN.
        assert not res.errors.get("ClusterDownError"), (res.change, res.errors)


@pytest.mark.parametrize("profile", PROFILES, ids=[p.stem for p in PROFILES])
def test_day2_no_acknowledged_write_lost(day2, profile):
    """0 acknowledged writes lost over the three applies. Without the preStop hand-overs of
    issue 15 item 1, expect this to fail in Sentinel mode: writes reach the old master until
    it is demoted, and the replica that acknowledged them is re-pointed and resynced."""
    run = _run(day2, profile)
    if run.final_lost is None:
        pytest.fail(f"no final read-back (the run stopped {run.error and run.error[:300]})")
    per_change = {r.change: len(r.lost) for r in run.changes}
    assert not run.final_lost, (
        f"{len(run.final_lost)} of {len(run.acked)} acknowledged writes lost "
        f"(right after each change: {per_change}; e.g. {run.final_lost[:5]}). "
        f"Known on a branch without the preStop hand-over (issue 15 item 1).")


def failover_window_seconds(objects: list[dict]) -> float:
    """What a master restart costs without a hand-over, from the render's ConfigMap:
    cluster-node-timeout (cluster mode) or the Sentinels' down-after-milliseconds."""
    text = "\n".join(str(v) for o in objects if o.get("kind") == "ConfigMap"
                     for v in (o.get("data") or {}).values())
    m = (re.search(r"^cluster-node-timeout (\d+)$", text, re.M)
         or re.search(r"sentinel down-after-milliseconds \S+ (\d+)", text))
    assert m, "the render names neither cluster-node-timeout nor down-after-milliseconds"
    return int(m.group(1)) / 1000


@pytest.mark.parametrize("profile", PROFILES, ids=[p.stem for p in PROFILES])
def test_day2_write_gap_per_master_restart(day2, profile):
    """The goal is <= GAP_GOAL s of write unavailability per master restart: recorded (a
    bound that tight would move with the host's load). Asserted: every master restart
    refuses writes for less than what it costs without a hand-over (node-timeout or
    down-after), so a broken hand-over fails here. Per master restart (a pod that was master when deleted), over
    its lanes, from its deletion to its replacement's Ready: `accept_gap`, the longest time
    without a SET answered OK (the write unavailability the goal means), and `ack_gap`, without
    a write acknowledged by WAIT 1. With one replica per master (the cluster profiles) a
    shard has no second copy while any of its pods is down, so its `ack_gap` spans that pod's
    whole absence whatever the hand-over does."""
    run = _run(day2, profile)
    if run.error:
        pytest.skip(f"the run failed: {run.error[:300]}")
    over = [(r.change, m.pod, m.accept_gap, m.ack_gap) for r in run.changes
            for m in r.master_restarts if m.accept_gap > GAP_GOAL]
    run.figures.record("day2_master_restarts_over_goal", over)
    print(f"\n[{run.profile}] master restarts with writes refused longer than {GAP_GOAL}s: "
          f"{over}")
    # The hand-over must beat what a restart costs without one (test_day2_negative (b)):
    # writes refused for less than node-timeout / down-after at every master restart.
    worst = [(r.change, m.pod, m.accept_gap) for r in run.changes for m in r.master_restarts
             if m.accept_gap >= run.failover_window]
    assert not worst, (f"master restarts refused writes for {run.failover_window}s or longer, "
                       f"as without a hand-over: {worst}")
