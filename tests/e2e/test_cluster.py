"""Scenarios 1-5 on every bundled cluster profile, in order, on one formed cluster per profile:
  1. pods start in parallel, the reconcile Job exits 0, the cluster is healthy;
  2. 1000 keys written through a cluster-aware client, each acknowledged by WAIT 1;
  3. the reconcile Job again: exit 0, node IDs and slot map unchanged;
  4. SIGKILL the master of slot 0: its replica takes over, no acknowledged key lost, the
     recreated pod (new IP, same data) rejoins as a replica; then a graceful delete of slot
     0's master: its preStop (CLUSTER FAILOVER) makes its replica master within
     HANDOVER_SECONDS, no key lost, the recreated pod rejoins as a replica;
 4b. SIGKILL of the Redis container of slot 0's master, restarted in place (same volumes):
     healthy again, no acknowledged key lost (an empty master must not wipe its replicas);
  5. every pod killed and recreated with new IPs, no Job: healthy within 60 s, keys intact
     (emptyDir profiles: the first pod forms the empty cluster again, which takes writes).
Figures go to stdout (-s) and to $E2E_FIGURES (default target/e2e-figures.json).
"""

from __future__ import annotations

import pytest

import render
from scenarios import Deployment, run_step

PROFILES = render.cluster_profiles()


@pytest.fixture(scope="module", params=PROFILES, ids=[p.stem for p in PROFILES])
def deployment(request, runtime, redkube_bin, tmp_path_factory, figures_sink):
    profile = request.param
    rendered = render.render_profile(redkube_bin, profile,
                                     tmp_path_factory.mktemp(profile.stem) / "rendered")
    dep = Deployment(runtime, rendered, rendered.objects(), name=profile.stem)
    figures_sink.append(dep.figures)
    yield dep
    dep.cluster.close()


def test_1_forms_and_is_healthy(deployment):
    run_step(deployment, "1", deployment.form)


def test_2_acknowledged_writes(deployment):
    run_step(deployment, "2", deployment.write)


def test_3_reconcile_job_is_idempotent(deployment):
    run_step(deployment, "3", deployment.rerun_job)


def test_4_failover_of_slot_0_master(deployment):
    run_step(deployment, "4", deployment.failover)


def test_4b_crash_of_the_masters_redis_container(deployment):
    run_step(deployment, "4b", deployment.container_crash)


def test_5_full_restart_with_new_ips(deployment):
    run_step(deployment, "5", deployment.full_restart)


def test_r_replica_ready_only_after_its_sync(deployment):
    run_step(deployment, "R", deployment.replica_sync_readiness)


def test_profiles_exist():
    assert PROFILES, f"no profiles/cluster-*.toml in {render.REPO}"
