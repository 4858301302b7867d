"""Two creators at once. The reconcile Job and the first pod's self-form (start.sh, for a
cluster whose pods all came back empty) may both find every pod empty; the claim on ordinal 0
(CLUSTER SET-CONFIG-EPOCH 1, granted once) must let exactly one of them create. Two copies of
the reconcile Job started together stand in for the pair: the same creation code and claim,
with both creators released at the same moment instead of 30 s apart. And a claim left by a
creator that died: the Job takes it over once stale."""

from __future__ import annotations

import copy
import re
import time
from concurrent.futures import ThreadPoolExecutor

import render
from scenarios import JOB_TIMEOUT, Deployment

PROFILE = next(p for p in render.cluster_profiles() if p.stem == "cluster-cache")


def test_two_creators_at_once_create_one_cluster(runtime, redkube_bin, tmp_path, figures_sink):
    rendered = render.render_profile(redkube_bin, PROFILE, tmp_path / "rendered")
    dep = Deployment(runtime, rendered, rendered.objects(), name="two-creators")
    figures_sink.append(dep.figures)
    try:
        dep.cluster.start_statefulset(rendered.statefulset, dep.namespace)
        with ThreadPoolExecutor(2) as pool:
            runs = list(pool.map(
                lambda _: dep.cluster.run_job(rendered.job, dep.namespace, timeout=JOB_TIMEOUT),
                range(2)))
        logs = "\n----\n".join(r.logs[-3000:] for r in runs)
        assert all(r.succeeded for r in runs), f"a Job failed: {[r.reason for r in runs]}\n{logs}"
        creators = sum("creating the cluster" in r.logs for r in runs)
        assert creators == 1, f"{creators} creators ran redis-cli --cluster create:\n{logs}"
        dep.figures.record("claim_refused_to_the_second", any("holds the claim" in r.logs
                                                               for r in runs))
        health = dep._client().health()
        assert health.ok, f"not healthy after two creators: {health}"
        dep.write(100)
    finally:
        dep.cluster.close()


# The stale-claim window of the e2e copy: the rendered one (CREATE_BUDGET_SECONDS + 30 s)
# would make this test wait 2.5 minutes. Shorter than the create budget is safe here: no other
# creator runs.
E2E_STALE_CLAIM_SECONDS = 20
STALE_LINE = re.compile(r"^STALE_CLAIM_SECONDS=\d+$", re.M)


def with_stale_claim_window(objects: list[dict], seconds: int) -> list[dict]:
    """A copy of OBJECTS whose reconcile Job script watches a stale claim SECONDS long (the
    first pod's self-form keeps the rendered window)."""
    out = copy.deepcopy(objects)
    changed = 0
    for cm in (o for o in out if o.get("kind") == "ConfigMap"):
        data = cm.get("data") or {}
        if "reconcile.sh" in data and STALE_LINE.search(data["reconcile.sh"]):
            data["reconcile.sh"] = STALE_LINE.sub(f"STALE_CLAIM_SECONDS={seconds}",
                                                  data["reconcile.sh"])
            changed += 1
    assert changed == 1, "no reconcile.sh with a STALE_CLAIM_SECONDS line"
    return out


def test_a_stale_claim_is_taken_over(runtime, redkube_bin, tmp_path, figures_sink):
    """Issue 11, item 3: a creator that claimed pod 0 (CLUSTER SET-CONFIG-EPOCH 1) and died
    before creating left epoch 1 on an empty node. The reconcile Job must take the claim over
    once it has stayed stale for the window, and form the cluster (the old Job gave up at
    once and waited for a health that never came)."""
    rendered = render.render_profile(redkube_bin, PROFILE, tmp_path / "rendered")
    objects = with_stale_claim_window(rendered.objects(), E2E_STALE_CLAIM_SECONDS)
    dep = Deployment(runtime, rendered, objects, name="stale-claim")
    figures_sink.append(dep.figures)
    try:
        pods = dep.cluster.start_statefulset(rendered.statefulset, dep.namespace)
        first = pods[0]
        deadline = time.monotonic() + 30
        while True:
            r = first.exec(["redis-cli", "--no-auth-warning", "-p", str(rendered.port),
                            "cluster", "set-config-epoch", "1"], timeout=10,
                           env={"REDISCLI_AUTH": rendered.password})
            if r.stdout.strip() == "OK":
                break
            assert time.monotonic() < deadline, f"could not claim pod 0 by hand: {r}"
            time.sleep(0.5)
        t0 = time.monotonic()
        run = dep.cluster.run_job(rendered.job, dep.namespace, timeout=JOB_TIMEOUT)
        dep.figures.record("stale_claim_job_seconds", round(time.monotonic() - t0, 1))
        assert run.succeeded, f"the Job failed: {run.reason}\n{run.logs[-4000:]}"
        assert f"is stale after {E2E_STALE_CLAIM_SECONDS}s" in run.logs, run.logs[-4000:]
        assert run.logs.count("creating the cluster") == 1, run.logs[-4000:]
        assert "self-form: done" not in first.log_text(), first.log_text(tail=60)
        health = dep._client().health()
        assert health.ok, f"not healthy after the takeover: {health}"
        dep.write(100)
    finally:
        dep.cluster.close()
