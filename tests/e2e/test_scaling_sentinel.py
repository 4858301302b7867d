"""Day 2, scaling a Redis with Sentinel (issue 12, item 5 f): profiles/sentinel.toml, holding
100,352 preloaded keys (1 KB values), scaled 3 -> 5 -> 3 pods by re-rendering the profile with
`redis-pods` and `sentinels` changed (quorum left to the default majority: 3, then 2) and
applying it as `kubectl apply` would (emulator `Cluster.apply_update`), under the continuous
writer (day2_writer.py: SET + WAIT 1 every 20 ms per lane, the Sentinels asked after each
failure). After each step:
  * the StatefulSet has its new shape and the new reconcile Job completed (its log says
    "healthy");
  * no pod that existed before moved (no roll: the counts are not in the pods' config hash);
  * 0 acknowledged writes lost, and every live pod holds at least the preloaded keys;
  * every Sentinel names the one master, lists exactly the other live pods as replicas and as
    Sentinels (none down, no removed pod), has the rendered quorum, and CKQUORUM says OK.
Back at 3 pods the render equals the first one, so its Job has the first Job's name: Kubernetes
deletes that one ttlSecondsAfterFinished (600 s) after it finished, the emulator keeps it, so
the step runs it as an apply after that would (scaling.apply_scale).
Then the last Job, run again on the reconciled deployment, resets and sets nothing.
Figures: the worst write gap (acknowledged and accepted writes) from the apply to the new
shape, the time from the apply to the new shape, the Job's own time, keys lost.
"""

from __future__ import annotations

import secrets
import time
import types

import pytest

import render
from day2 import load_data
from scaling import apply_scale, dbsizes, rendered_topology, sentinel_problems
from scenarios import run_step
from test_day2 import deploy

PROFILE = render.REPO / "profiles" / "sentinel.toml"
# 98 MB of 1 KB values: 100,352 keys.
PRELOAD_MB, PRELOAD_VALUE_KB = 98, 1
HEALTH_TIMEOUT = 90


@pytest.fixture(scope="module")
def scaling(runtime, redkube_bin, tmp_path_factory, figures_sink):
    workdir = tmp_path_factory.mktemp("scaling-sentinel")
    target, render_changed = deploy(runtime, redkube_bin, PROFILE, workdir,
                                    secrets.token_urlsafe(18), "scaling-sentinel")
    figures_sink.append(target.figures)
    yield types.SimpleNamespace(target=target, render=render_changed, workdir=workdir,
                                failed=None, preloaded=0, last_job="")
    target.cluster.close()


def test_0_preload(scaling):
    def run():
        t0 = time.monotonic()
        loaded = load_data(scaling.target, PRELOAD_MB, value_kb=PRELOAD_VALUE_KB)
        scaling.preloaded = loaded["keys"]
        scaling.target.figures.record("preload_keys", loaded["keys"])
        scaling.target.figures.record("preload_seconds", round(time.monotonic() - t0, 1))
        assert loaded["keys"] >= 100_000
        assert min(loaded["replicated"].values()) >= 1, loaded["replicated"]
    run_step(scaling, "0", run)


def scale(st, step: int, pods: int) -> None:
    t = st.target

    def edit(spec: dict) -> None:
        s = spec["sentinel"]
        s["redis-pods"] = pods
        s["sentinels"] = pods
        s.pop("quorum", None)  # the default: a majority

    path = render.changed_profile(PROFILE, edit, st.workdir / f"profile-{step}")
    objects = st.render(path, st.workdir / f"render-{step}")
    topology = rendered_topology(objects)
    assert topology == {"pods": pods, "quorum": pods // 2 + 1}, topology
    res = apply_scale(t, objects, f"{step}-to-{pods}")
    st.last_job = res.job
    t.figures.record(f"scale_{step}_to_{pods}", res.figures())
    print(f"\n[scale to {pods}]\n{res.report}\n--- Job log (tail)\n{res.job_log[-3000:]}",
          flush=True)
    live = [f"{t.statefulset}-{i}" for i in range(pods)]

    # Back to an earlier shape, the emulator's apply starts no Job (scaling.apply_scale): only
    # a Job named like an earlier one may be left unchanged by the apply.
    assert res.job_started_by_apply or res.job in res.earlier_jobs, (res.job, res.earlier_jobs)
    assert res.job_reason == "Complete", f"{res.job}: {res.job_reason}\n{res.job_log[-4000:]}"
    assert "healthy:" in res.job_log, res.job_log[-4000:]
    assert sorted(res.ips_after) == sorted(live), res.ips_after
    moved = {p: (ip, res.ips_after[p]) for p, ip in res.ips_before.items()
             if p in res.ips_after and res.ips_after[p] != ip}
    assert not moved, f"pods rolled (old IP, new IP): {moved}"
    assert not res.lost, f"{len(res.lost)} acknowledged writes lost: {res.lost[:5]}"
    t.dep.wait_healthy(live, HEALTH_TIMEOUT, f"healthy with {pods} pods")
    problems = sentinel_problems(t, live, topology["quorum"])
    assert not problems, problems
    sizes = dbsizes(t, live)
    short = {p: n for p, n in sizes.items() if not isinstance(n, int) or n < st.preloaded}
    assert not short, f"pods without the {st.preloaded} preloaded keys: {short}"


def test_1_scale_up_to_5(scaling):
    run_step(scaling, "1", lambda: scale(scaling, 1, 5))


def test_2_scale_down_to_3(scaling):
    run_step(scaling, "2", lambda: scale(scaling, 2, 3))


def test_3_a_rerun_changes_nothing(scaling):
    """The last reconcile Job run again on the reconciled deployment: no RESET, no SET."""
    def run():
        t = scaling.target
        again = t.cluster.run_job(scaling.last_job, t.namespace)
        t.figures.record("rerun_job_seconds", round(again.seconds, 1))
        assert again.reason == "Complete", again
        assert "healthy:" in again.logs, again.logs[-3000:]
        assert "SENTINEL RESET" not in again.logs and " -> " not in again.logs, again.logs[-3000:]
    run_step(scaling, "3", run)
