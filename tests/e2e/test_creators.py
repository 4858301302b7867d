"""Two creators at once. The bootstrap Job and the first pod's self-form (start.sh, for a
cluster whose pods all came back empty) may both find every pod empty; the claim on ordinal 0
(CLUSTER SET-CONFIG-EPOCH 1, granted once) must let exactly one of them create. Two copies of
the bootstrap Job started together stand in for the pair: the same creation code and claim,
with both creators released at the same moment instead of 30 s apart."""

from __future__ import annotations

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
