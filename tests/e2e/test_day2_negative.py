"""Negative controls of day 2 (issue 15): deliberately broken copies of the manifests, rolled
by a re-render under the continuous writer, must fail where the real ones pass
(test_day2.py), or those scenarios could not tell a good rendering from a bad one.

  (a) Sentinel mode without the write pause: the preStop of before issue 15 (no
      `pause_writes`, no `wait_for_catch_up`, so SENTINEL FAILOVER alone): acknowledged
      writes are lost (measured on the branch before the hand-over: 88 to 195 per apply);
  (b) cluster mode without the hand-over (`candidates` finds none): a master restart refuses
      writes for longer than cluster-node-timeout. It also proves `[update] partition`: the
      re-render sets it to the masters' count, so only the pods at and above it roll;
  (c) readiness that ignores the sync (`replica_synced` always true) on an emptyDir cluster
      holding 100 MB: a replica is Ready while its full sync has not even started, the roll
      deletes its master next, and the shard has no copy left: the cluster goes down (writes
      answered CLUSTERDOWN; measured: 63 of them, cluster_state:fail in the probes), the
      rollout or the health check fails, or acknowledged writes are lost. The real render
      (test_day2.py) gets no CLUSTERDOWN.

Each copy is broken in every render (the first apply and the re-render), since the pods run
the preStop and probes of the ConfigMap mounted at the time.
"""

from __future__ import annotations

import re
import secrets

import day2
import render
from day2 import ClusterTarget, apply_change, change_maxmemory, load_data
from emulator import HarnessError
from script_contract import disable_step
from test_day2 import deploy

PROFILES = {p.stem: p for p in (render.REPO / "profiles").glob("*.toml")}
# A broken roll may stall: it need not run out the real scenarios' budgets to show it.
BROKEN_ROLL_TIMEOUT = 150
BROKEN_HEALTH_TIMEOUT = 45


def _changed(profile, workdir, partition: int | None = None):
    def edit(spec):
        change_maxmemory(spec)
        if partition is not None:
            spec.setdefault("update", {})["partition"] = partition
    return render.changed_profile(profile, edit, workdir / "profile-1")


def _close(target) -> None:
    target.cluster.close()


def test_day2_a_sentinel_handover_without_the_write_pause_loses_writes(
        runtime, redkube_bin, tmp_path):
    def breaker(objects):
        return disable_step(disable_step(objects, "pause_writes"), "wait_for_catch_up")
    profile = PROFILES["sentinel"]
    target, render_changed = deploy(runtime, redkube_bin, profile, tmp_path,
                                    secrets.token_urlsafe(18), "day2-negative-pause", breaker)
    try:
        objects = render_changed(_changed(profile, tmp_path), tmp_path / "render-1")
        res = apply_change(target, objects, "maxmemory", "without the write pause")
    finally:
        _close(target)
    print(f"\nexpected failure (day 2 a): {len(res.lost)} of {len(res.acked)} acknowledged "
          f"writes lost; master restarts {[m.as_dict() for m in res.master_restarts]}")
    assert res.master_restarts, res.rollout_report
    assert res.lost, (f"without the write pause no acknowledged write was lost "
                      f"({len(res.acked)} acknowledged): the control proves nothing")


def test_day2_b_cluster_without_the_handover_refuses_writes_beyond_node_timeout(
        runtime, redkube_bin, tmp_path):
    profile = PROFILES["cluster-storageclass"]
    target, render_changed = deploy(
        runtime, redkube_bin, profile, tmp_path, secrets.token_urlsafe(18),
        "day2-negative-handover", lambda objects: disable_step(objects, "candidates"))
    try:
        masters = target.dep.rendered.masters
        conf = "\n".join(str(v) for o in target.dep.rendered.objects()
                         if o.get("kind") == "ConfigMap" for v in (o.get("data") or {}).values())
        node_timeout = int(re.search(r"^cluster-node-timeout (\d+)$", conf, re.M).group(1)) / 1000
        # Masters are the first ordinals after formation: a partition at their count would
        # roll replicas only, one below it rolls exactly one master.
        objects = render_changed(_changed(profile, tmp_path, partition=masters - 1),
                                 tmp_path / "render-1")
        res = apply_change(target, objects, "maxmemory", "without the hand-over",
                           partition=masters - 1)
    finally:
        _close(target)
    gaps = [(m.pod, m.accept_gap) for m in res.master_restarts]
    print(f"\nexpected failure (day 2 b): writes refused per master restart {gaps} "
          f"(node-timeout {node_timeout}s)")
    assert gaps, res.rollout_report
    assert max(g for _, g in gaps) > node_timeout, (
        f"without the hand-over no master restart refused writes longer than node-timeout "
        f"{node_timeout}s: {gaps}")
    assert not res.lost, res.lost[:5]


def test_day2_c_readiness_ignoring_the_sync_breaks_a_large_data_roll(
        runtime, redkube_bin, tmp_path, monkeypatch):
    monkeypatch.setattr(day2, "ROLL_TIMEOUT", BROKEN_ROLL_TIMEOUT)
    monkeypatch.setattr(day2, "HEALTH_TIMEOUT", BROKEN_HEALTH_TIMEOUT)
    profile = PROFILES["cluster-cache"]
    target, render_changed = deploy(
        runtime, redkube_bin, profile, tmp_path, secrets.token_urlsafe(18),
        "day2-negative-readiness", lambda objects: disable_step(objects, "replica_synced"))
    assert isinstance(target, ClusterTarget)
    try:
        load_data(target, 100)
        objects = render_changed(_changed(profile, tmp_path), tmp_path / "render-1")
        try:
            res = apply_change(target, objects, "maxmemory", "readiness ignores the sync")
        except HarnessError as e:
            # Only a stalled roll or a failed health check counts, not any harness trouble.
            broke = ("never got Ready", "rollout not finished", "not healthy after the apply")
            if not any(b in str(e) for b in broke):
                raise
            print(f"\nexpected failure (day 2 c): the roll broke the cluster: {str(e)[:1500]}")
            return
    finally:
        _close(target)
    down = res.errors.get("ClusterDownError", 0)
    print(f"\nexpected failure (day 2 c): {len(res.lost)} of {len(res.acked)} acknowledged "
          f"writes lost; {down} writes answered CLUSTERDOWN (a shard without a serving copy); "
          f"master restarts {[m.as_dict() for m in res.master_restarts]}")
    assert res.lost or down, (
        "with readiness that ignores the sync the large-data roll neither took the cluster "
        "down nor lost a write: the control proves nothing")

