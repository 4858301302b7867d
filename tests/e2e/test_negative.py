"""Scenario 7, negative controls: deliberately broken copies of the manifests must fail, and
at the expected step, or the scenarios could not tell a good rendering from a bad one.
  (a) no masterauth: replicas never link to their masters -> scenario 1's health check;
  (b) no nodes.conf IP repair in the start script -> scenario 5 does not heal in time.
They run on one profile with persistent data ($E2E_NEGATIVE_PROFILE, default
cluster-storageclass, else the first cluster profile).
"""

from __future__ import annotations

import os

import pytest

import render
from scenarios import Deployment, ScenarioFailure
from script_contract import disable_step

# Short budgets: the failure is certain, only its step matters.
NEGATIVE_JOB_TIMEOUT = 30


@pytest.fixture(scope="module")
def negative_rendered(redkube_bin, tmp_path_factory):
    profiles = {p.stem: p for p in render.cluster_profiles()}
    if not profiles:
        pytest.fail("no cluster profiles")
    name = os.environ.get("E2E_NEGATIVE_PROFILE", "cluster-storageclass")
    profile = profiles.get(name) or next(iter(profiles.values()))
    return render.render_profile(redkube_bin, profile,
                                 tmp_path_factory.mktemp("negative") / "rendered")


def test_7a_without_masterauth_fails_health_of_scenario_1(negative_rendered, runtime):
    objects = render.without_masterauth(negative_rendered.objects())
    dep = Deployment(runtime, negative_rendered, objects, name="negative-masterauth")
    try:
        with pytest.raises(ScenarioFailure) as failure:
            dep.form(job_timeout=NEGATIVE_JOB_TIMEOUT)
    finally:
        dep.cluster.close()
    print(f"\nexpected failure (7a): {str(failure.value)[:1500]}")
    assert failure.value.step == "1", str(failure.value)
    assert "master_link_status" in str(failure.value), str(failure.value)


def test_7b_without_ip_repair_fails_full_restart(negative_rendered, runtime):
    if not negative_rendered.persistent:
        pytest.fail(f"{negative_rendered.name} keeps no data across pods: pick another "
                    f"profile with E2E_NEGATIVE_PROFILE")
    objects = disable_step(negative_rendered.objects(), "repair_peer_addresses")
    dep = Deployment(runtime, negative_rendered, objects, name="negative-ip-repair")
    try:
        dep.form()
        dep.write(100)
        with pytest.raises(ScenarioFailure) as failure:
            dep.full_restart()
    finally:
        dep.cluster.close()
    print(f"\nexpected failure (7b): {str(failure.value)[:1500]}")
    assert failure.value.step == "5", str(failure.value)
    assert "not healthy after a full restart" in str(failure.value), str(failure.value)
    # ... because peers are still remembered at their old addresses.
    assert "its IP is" in str(failure.value), str(failure.value)
