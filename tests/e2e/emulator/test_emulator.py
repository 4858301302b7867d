"""Self-tests of the emulator on a hand-written fixture (fixtures/demo: plain redis-server
pods, a server this host happens to have; no application's manifests): pods get their own
namespaces and IPs, see each other through /etc/hosts, volumes and env behave as on
Kubernetes, and cleanup leaves nothing behind. Imports only the emulator; the session
`runtime` fixture comes from the suite's conftest.py."""

from __future__ import annotations

import os
import pathlib
import re

import pytest

from emulator import HarnessError, ImageDefaults, Runtime, netns, wait_until
from emulator.manifests import ManifestError, expand, kustomize_build, load_documents

FIXTURE = pathlib.Path(__file__).resolve().parent / "fixtures" / "demo"
PASSWORD = "demo-password"
# What the fixture's image (redis:7.2.7) adds to the host's / for the emulator: WORKDIR and
# VOLUME /data, user 999, the binaries at the image's /usr/local/bin paths.
DEMO_IMAGES = {
    "redis": ImageDefaults(workdir="/data", cmd=("redis-server",), volumes=("/data",),
                           users=((999, "redis"),),
                           links=(("/usr/local/bin/redis-server", "redis-server"),
                                  ("/usr/local/bin/redis-cli", "redis-cli"))),
}


def demo_cluster(runtime, name: str):
    return runtime.cluster(name, images=DEMO_IMAGES)


@pytest.fixture(scope="module")
def demo(runtime):
    cluster = demo_cluster(runtime, "demo")
    cluster.apply(FIXTURE)
    pods = cluster.start_statefulset("demo")
    wait_until(lambda: all(p.ready for p in pods), 60, "demo pods Ready",
               describe=cluster.logs_report)
    yield cluster
    cluster.close()


def alive(pid: int) -> bool:
    """Running, not a zombie waiting for init to reap it."""
    try:
        return pathlib.Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def sh(pod, script: str, timeout: float = 20):
    r = pod.exec(["sh", "-c", script], timeout=timeout)
    assert r.ok, f"{script!r} in {pod.name}: exit {r.code}\n{r.stdout}\n{r.stderr}"
    return r.stdout.strip()


def test_expand_follows_kubernetes_rules():
    env = {"A": "1", "B": "two"}
    assert expand("$(A)-$(B)", env) == "1-two"
    assert expand("$$(A)", env) == "$(A)"
    assert expand("$(MISSING)", env) == "$(MISSING)"
    assert expand("$A $( $", env) == "$A $( $"
    assert expand("$$$(A)", env) == "$1"


def test_pods_have_own_netns_ip_and_hostname(demo):
    pods = demo.statefulset_pods("demo")
    ips = [p.ip for p in pods]
    assert len(set(ips)) == 3 and all(ip.startswith("10.244.") for ip in ips)
    assert len({p.sandbox.netns for p in pods}) == 3
    for p in pods:
        assert sh(p, "hostname") == p.name
        assert p.ip in sh(p, "cat /proc/net/fib_trie")
        # The pod's own namespace is not the host's.
        assert os.stat(f"/proc/{p.containers[0].pid}/ns/net").st_ino != \
            os.stat("/proc/self/ns/net").st_ino


def test_pods_reach_each_other_by_dns_name(demo):
    pods = demo.statefulset_pods("demo")
    for p in pods:
        for q in pods:
            name = f"{q.name}.demo-headless.default.svc.cluster.local"
            assert sh(p, f"getent ahostsv4 {name} | head -1").split()[0] == q.ip
            reply = sh(p, f"redis-cli --no-auth-warning -a {PASSWORD} -h {name} -p 6380 ping")
            assert reply == "PONG"
    # The client Service name resolves to one ready endpoint.
    assert sh(pods[0], "getent ahostsv4 demo | head -1").split()[0] in [p.ip for p in pods]


def test_env_expansion_and_downward_api(demo):
    p = demo.pod("demo-1")
    log = p.containers[0].log_path.read_text()
    assert (f"env: POD_NAME=demo-1 POD_NAMESPACE=default POD_IP={p.ip} "
            f"GREETING=hello-demo-1 PASSWORD={PASSWORD}") in log
    assert "argv: hello-demo-1 $(ESCAPED) $(UNDEFINED)" in log


def test_security_context_and_read_only_root(demo):
    p = demo.pod("demo-0")
    log = p.containers[0].log_path.read_text()
    assert "id: 999:999 groups: 999" in log
    assert "redis-server: /usr/local/bin/redis-server" in log
    ro = p.containers[0].status().get("read_only_root")
    assert ro is True, "the kernel refused a read-only root (see the container log)"
    assert "root: read-only" in log
    assert "NoNewPrivs:\t1" in sh(p, "cat /proc/self/status")


def test_volumes_modes_and_ownership(demo):
    p = demo.pod("demo-0")
    assert sh(p, "stat -L -c %a:%u:%g /etc/demo-secret/pass") == "440:0:999"
    assert sh(p, "cat /etc/demo-secret/pass") == PASSWORD
    assert sh(p, "stat -L -c %a /etc/demo/redis.conf") == "444"
    assert sh(p, "cat /etc/greeting.txt") == "hello"  # subPath
    assert "Read-only" in p.exec(["sh", "-c", "touch /etc/demo/x"], 10).stderr
    assert sh(p, "touch /data/x /run/demo/x /tmp/x && echo ok") == "ok"
    assert sh(p, "ls /data/appendonlydir | wc -l") != "0"


def test_hosts_file_follows_readiness(demo):
    """publishNotReadyAddresses is false in the fixture: a pod that stops being ready leaves
    the headless records, in place (same inode, seen through the bind mount)."""
    p0, p2 = demo.pod("demo-0"), demo.pod("demo-2")
    name = "demo-2.demo-headless.default.svc.cluster.local"
    inode = (p0.dir / "etc-hosts").stat().st_ino
    # A new password makes the fixture's readiness probe fail.
    sh(p2, f"redis-cli --no-auth-warning -a {PASSWORD} -p 6380 config set requirepass other")
    try:
        wait_until(lambda: not p2.ready, 20, "demo-2 not ready")
        wait_until(lambda: p0.exec(["getent", "ahostsv4", name], 10).code == 2, 10,
                   f"{name} gone from demo-0's hosts")
    finally:
        sh(p2, "redis-cli --no-auth-warning -a other -p 6380 config set requirepass "
               f"{PASSWORD}")
    wait_until(lambda: p2.ready, 20, "demo-2 ready again")
    wait_until(lambda: p0.exec(["getent", "ahostsv4", name], 10).ok, 10, f"{name} back")
    assert (p0.dir / "etc-hosts").stat().st_ino == inode


def test_job_runs_to_completion_and_backoff(demo):
    r = demo.run_job("demo-check", timeout=60)
    assert r.succeeded, str(r)
    assert r.logs.count("PONG") == 3
    # A failing Job is retried up to backoffLimit (1) and reported with its exit codes.
    job = demo.store.get("Job", "default", "demo-check")
    job["spec"]["template"]["spec"]["containers"][0]["env"].append(
        {"name": "EXIT_CODE", "value": "3"})
    try:
        r = demo.run_job("demo-check", timeout=60)
    finally:
        job["spec"]["template"]["spec"]["containers"][0]["env"].pop()
    assert not r.succeeded and r.exit_codes == [3, 3], str(r)
    assert "BackoffLimitExceeded" in r.reason


def test_graceful_delete_runs_prestop_and_recreate_keeps_data(demo):
    p = demo.pod("demo-2")
    old_ip = p.ip
    demo.delete_pod(p)
    claim = demo.claim_dir("data-demo-2")
    assert (claim / "prestop").read_text().strip() == "prestop demo-2"
    assert "SIGTERM" in p.containers[0].log_path.read_text()
    assert netns.netns_inode(p.sandbox.netns) is None
    new = demo.recreate_pod("demo-2")
    assert new.ip != old_ip
    wait_until(lambda: new.ready, 30, "demo-2 ready after recreation",
               describe=lambda: demo.logs_report([new]))
    assert sh(new, "cat /data/ips").split() == [old_ip, new.ip]


def test_hard_kill_takes_every_process(demo):
    p = demo.pod("demo-1")
    p.exec(["sh", "-c", "sleep 300 >/dev/null 2>&1 &"], 10)
    pids = p.sandbox.pids()
    assert len(pids) >= 2
    demo.kill_pod(p)
    assert not [pid for pid in pids if alive(pid)]
    assert netns.netns_inode(p.sandbox.netns) is None
    demo.recreate_pod("demo-1")


def test_liveness_failure_restarts_container(runtime):
    cluster = runtime.cluster("liveness")
    spec = {"terminationGracePeriodSeconds": 1, "containers": [{
        "name": "c", "image": "busybox", "command": ["sh", "-c", "touch /tmp/alive; sleep 300"],
        "livenessProbe": {"exec": {"command": ["sh", "-c", "test -e /tmp/alive && rm /tmp/alive"]},
                          "periodSeconds": 1, "failureThreshold": 2}}]}
    pod = cluster.start_pod("lively", spec)
    try:
        wait_until(lambda: pod.restart_count() >= 1, 30, "a liveness restart",
                   describe=lambda: pod.log_text())
        assert "liveness probe failed (2/2)" in pod.containers[0].log_path.read_text()
    finally:
        cluster.close()


def test_ordered_ready_starts_pods_one_by_one(runtime):
    """podManagementPolicy OrderedReady (the default): pod N+1 starts once pod N is Ready."""
    cluster = demo_cluster(runtime, "ordered")
    docs = load_documents(FIXTURE)
    sts = next(d for d in docs if d["kind"] == "StatefulSet")
    sts["spec"]["replicas"] = 2
    del sts["spec"]["podManagementPolicy"]
    cluster.apply(docs)
    try:
        pods = cluster.start_statefulset("demo", ready_timeout=30)
        assert pods[0].ready and pods[1].started_at > pods[0].started_at
        first_ready = pods[0].containers[0].log_path.read_text()
        assert "Ready to accept connections" in first_ready
    finally:
        cluster.close()


def test_manifest_errors_are_reported(runtime):
    with pytest.raises(ManifestError, match="not emulated"):
        runtime.cluster("bad").apply([{"apiVersion": "v1", "kind": "Frobnicator",
                                       "metadata": {"name": "x"}}])
    docs = load_documents(FIXTURE)
    missing_secret = [d for d in docs if d["kind"] != "Secret"]
    cluster = demo_cluster(runtime, "no-secret")
    cluster.apply(missing_secret)
    with pytest.raises(ManifestError, match="Secret demo-auth not found"):
        cluster.start_statefulset("demo")
    cluster.close()


def test_kustomize_stream_loads_like_the_folder(kubectl):
    folder = sorted((d["kind"], d["metadata"]["name"]) for d in load_documents(FIXTURE))
    stream = sorted((d["kind"], d["metadata"]["name"])
                    for d in load_documents(kustomize_build(FIXTURE)))
    assert folder == stream


def test_cleanup_leaves_nothing(runtime, tmp_path):
    """A second Runtime: start a pod, close, and check no namespace, mount or process is left;
    then a 'crashed' run's leftovers are removed by the next Runtime."""
    rt = Runtime(work_dir=tmp_path)
    cluster = demo_cluster(rt, "c")
    cluster.apply(FIXTURE)
    pods = cluster.start_statefulset("demo")
    pids = [p.containers[0].pid for p in pods]
    run_id = rt.run_id
    rt.close()
    assert not [n for n in netns._list_netns() if n.startswith(f"{netns.PREFIX}-{run_id}-")]
    assert not [pid for pid in pids if alive(pid)]
    mounts = pathlib.Path("/proc/self/mountinfo").read_text()
    assert f"{netns.PREFIX}/{run_id}" not in mounts
    # Simulate a crash: leftovers without a live lock are removed by the next run.
    crashed = netns.Network("deadbeef")
    assert netns.netns_inode(crashed.bridge_ns) is not None
    rt2 = Runtime(work_dir=tmp_path)
    try:
        assert any("deadbeef" in line for line in rt2.stale_removed)
        assert netns.netns_inode(crashed.bridge_ns) is None
    finally:
        rt2.close()
    assert not re.search(rf"{netns.PREFIX}-{rt2.run_id}-", " ".join(netns._list_netns()))


# ---------------------------------------------------------------------------------------------
# `kubectl apply` of a later render (rollout.py), on trivial workloads (sh and sleep).

# The container copies its mounted file every 0.2 s, so the test sees what the running
# process sees; SIGTERM ends the loop.
ROLL_LOOP = ("trap 'exit 0' TERM; "
             "while :; do cat /etc/roll/greeting > /tmp/seen 2>/dev/null; sleep 0.2; done")


def roll_objects(replicas: int = 3, greeting: str = "one", rev: str = "1",
                 strategy: dict | None = None, readiness: list[str] | None = None,
                 jobs: tuple[str, ...] = (), **spec_overrides) -> list[dict]:
    """A ConfigMap, a headless Service, a StatefulSet of sh loops with a claim each, and
    JOBS (names) that sleep a second. REV goes into a template annotation."""
    container = {
        "name": "c", "image": "busybox", "command": ["sh", "-c", ROLL_LOOP],
        "env": [{"name": "GREETING", "valueFrom": {"configMapKeyRef": {
            "name": "roll-config", "key": "greeting"}}}],
        "volumeMounts": [{"name": "config", "mountPath": "/etc/roll"},
                         {"name": "config", "mountPath": "/etc/greeting.txt",
                          "subPath": "greeting"},
                         {"name": "data", "mountPath": "/data"}],
        "lifecycle": {"preStop": {"exec": {"command": [
            "sh", "-c", "echo prestop $(hostname) >> /data/log"]}}},
    }
    if readiness:
        container["readinessProbe"] = {"exec": {"command": readiness}, "periodSeconds": 1}
    spec = {
        "replicas": replicas, "serviceName": "roll-headless",
        "podManagementPolicy": "Parallel",
        "selector": {"matchLabels": {"app": "roll"}},
        "template": {"metadata": {"labels": {"app": "roll"}, "annotations": {"rev": rev}},
                     "spec": {"terminationGracePeriodSeconds": 3, "containers": [container],
                              "volumes": [{"name": "config",
                                           "configMap": {"name": "roll-config"}}]}},
        "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
            "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}],
    }
    if strategy:
        spec["updateStrategy"] = strategy
    spec.update(spec_overrides)
    objects = [
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": "roll-config", "namespace": "default"},
         "data": {"greeting": greeting, "other": "x"}},
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": "roll-headless", "namespace": "default"},
         "spec": {"clusterIP": "None", "publishNotReadyAddresses": True,
                  "selector": {"app": "roll"}, "ports": [{"name": "x", "port": 1}]}},
        {"apiVersion": "apps/v1", "kind": "StatefulSet",
         "metadata": {"name": "roll", "namespace": "default"}, "spec": spec},
    ]
    for name in jobs:
        objects.append({"apiVersion": "batch/v1", "kind": "Job",
                        "metadata": {"name": name, "namespace": "default"},
                        "spec": {"backoffLimit": 0, "template": {"spec": {
                            "restartPolicy": "Never", "containers": [{
                                "name": "j", "image": "busybox",
                                "command": ["sh", "-c", "sleep 1; echo job done"]}]}}}})
    return objects


@pytest.fixture
def rolling(runtime, request):
    """A started `roll` StatefulSet (its objects from roll_objects(**param))."""
    kwargs = getattr(request, "param", {})
    cluster = runtime.cluster(f"roll-{request.node.name[:40]}", recreate_delay=1.5,
                              rollout_ready_timeout=20)
    cluster.apply(roll_objects(**kwargs))
    pods = cluster.start_statefulset("roll")
    wait_until(lambda: all(p.ready for p in pods), 30, "roll pods Ready",
               describe=cluster.logs_report)
    yield cluster
    cluster.close()


def revision_of(pod) -> str:
    return pod.labels["controller-revision-hash"]


def test_apply_update_swaps_configmap_data_but_not_subpath_or_env(rolling):
    pod = rolling.pod("roll-0")
    before = sh(pod, "readlink /etc/roll/..data")
    assert re.fullmatch(r"\.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\.\w+", before), before
    assert sh(pod, "readlink /etc/roll/greeting") == "..data/greeting"
    wait_until(lambda: sh(pod, "cat /tmp/seen") == "one", 10, "the loop reading the file")
    rollout = rolling.apply_update(roll_objects(greeting="two"))
    rollout.wait(30)
    assert "ConfigMap default/roll-config configured" in rollout.changes
    assert "StatefulSet default/roll unchanged" in rollout.changes
    assert rollout.updates == []  # the template did not change: nothing rolls
    # The running process sees the new content through the swapped ..data link ...
    wait_until(lambda: sh(pod, "cat /tmp/seen") == "two", 10, "the running pod sees 'two'")
    after = sh(pod, "readlink /etc/roll/..data")
    assert after != before
    assert sh(pod, "ls -a /etc/roll | grep '^\\.\\.2' ") == after  # the old directory is gone
    # ... while a subPath mount and the environment keep what the container started with.
    assert sh(pod, "cat /etc/greeting.txt") == "one"
    assert sh(pod, "echo $GREETING") == "one"


@pytest.mark.parametrize("rolling", [{"replicas": 3}], indirect=True)
def test_apply_update_scales_then_rolls_highest_first(rolling):
    """Scale 3 -> 4 first (the new pod from the new template), then 2, 1, 0, one at a time:
    graceful deletion (preStop ran), the recreate delay, a new IP and the same claim, Ready
    before the next; a new Job starts at once, while the rollout runs."""
    old_pods = {p.name: p for p in rolling.statefulset_pods("roll")}
    for p in old_pods.values():
        sh(p, f"echo {p.name} > /data/mark")
    new_objects = roll_objects(replicas=4, rev="2", jobs=("roll-job-2",))
    rollout = rolling.apply_update(new_objects, role_of=lambda p: f"role-of-{p.name}")
    rollout.wait(120)
    print(rollout.report())
    updates = rollout.updates
    assert [u.ordinal for u in updates] == [2, 1, 0]
    delay = rolling.settings.recreate_delay
    for u in updates:
        assert u.role == f"role-of-{u.pod}"
        assert u.new_ip and u.new_ip != u.old_ip
        assert u.deleted.mono <= u.stopped.mono <= u.started.mono <= u.ready.mono
        assert u.started.mono - u.stopped.mono >= delay
    for prev, nxt in zip(updates, updates[1:]):
        assert nxt.deleted.mono >= prev.ready.mono, "the next pod went before Ready"
    scaled = rolling.pod("roll-3")
    assert scaled.started_at < updates[0].deleted.mono, "scaling comes first"
    new_rev = {revision_of(p) for p in rolling.statefulset_pods("roll")}
    assert len(new_rev) == 1 and new_rev != {revision_of(p) for p in old_pods.values()}
    for name in old_pods:
        pod = rolling.pod(name)
        assert sh(pod, "cat /data/mark") == name  # the same claim
        assert f"prestop {name}" in sh(pod, "cat /data/log")
    job = rollout.jobs["roll-job-2"]
    assert job is not None and job.succeeded, rollout.report()
    assert rollout.job_started["roll-job-2"].mono < updates[0].ready.mono, \
        "the Job waited for the rollout"
    assert len(rollout.timeline()) == 3 and rollout.seconds > 3 * delay


def test_apply_update_honours_partition_and_on_delete(rolling):
    first = {p.name: revision_of(p) for p in rolling.statefulset_pods("roll")}
    partitioned = {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}
    rollout = rolling.apply_update(roll_objects(rev="2", strategy=partitioned)).wait(60)
    assert [u.pod for u in rollout.updates] == ["roll-2"]
    now = {p.name: revision_of(p) for p in rolling.statefulset_pods("roll")}
    assert now["roll-0"] == first["roll-0"] and now["roll-1"] == first["roll-1"]
    assert now["roll-2"] != first["roll-2"]
    # A pod below the partition, deleted, comes back at the old revision.
    rolling.delete_pod(rolling.pod("roll-1"))
    assert revision_of(rolling.recreate_pod("roll-1")) == first["roll-1"]
    # OnDelete: nothing rolls; a deleted pod comes back from the newest template.
    on_delete = {"type": "OnDelete"}
    rollout = rolling.apply_update(roll_objects(rev="3", strategy=on_delete)).wait(30)
    assert rollout.updates == []
    assert {p.name: revision_of(p) for p in rolling.statefulset_pods("roll")} == {
        "roll-0": first["roll-0"], "roll-1": first["roll-1"], "roll-2": now["roll-2"]}
    rolling.delete_pod(rolling.pod("roll-0"))
    assert revision_of(rolling.recreate_pod("roll-0")) not in (first["roll-0"], now["roll-2"])


def test_apply_update_refuses_immutable_fields(runtime):
    from emulator import ApplyError
    cluster = runtime.cluster("roll-immutable")
    cluster.apply(roll_objects(jobs=("roll-job",)))
    try:
        for change, field in (({"serviceName": "other"}, "spec.serviceName"),
                              ({"podManagementPolicy": "OrderedReady"},
                               "spec.podManagementPolicy"),
                              ({"selector": {"matchLabels": {"app": "roll", "x": "y"}}},
                               "spec.selector")):
            with pytest.raises(ApplyError, match=field.replace(".", r"\.")):
                cluster.apply_update(roll_objects(greeting=field, **change))
            # Like kubectl: the rest of the render is applied, the refused object is not.
            assert cluster.store.get("ConfigMap", "default", "roll-config")["data"][
                "greeting"] == field
            assert cluster.store.get("StatefulSet", "default", "roll")["spec"][
                "serviceName"] == "roll-headless"
        bigger = roll_objects()
        bigger[2]["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"][
            "storage"] = "2Gi"
        with pytest.raises(ApplyError, match=r"spec\.volumeClaimTemplates"):
            cluster.apply_update(bigger)
        changed_job = roll_objects(jobs=("roll-job",))
        changed_job[3]["spec"]["template"]["spec"]["containers"][0]["command"] = ["true"]
        with pytest.raises(ApplyError, match=r"Job default/roll-job: spec\.template"):
            cluster.apply_update(changed_job)
    finally:
        cluster.close()


def test_rollout_stops_at_a_pod_that_never_gets_ready(rolling):
    before = {p.name: (p.ip, revision_of(p)) for p in rolling.statefulset_pods("roll")}
    rolling.settings.rollout_ready_timeout = 6
    rollout = rolling.apply_update(roll_objects(rev="2", readiness=["false"]))
    with pytest.raises(HarnessError, match="roll-2 never got Ready within 6s"):
        rollout.wait(90)
    assert [u.pod for u in rollout.updates] == ["roll-2"]
    after = {p.name: (p.ip, revision_of(p)) for p in rolling.statefulset_pods("roll")}
    assert after["roll-0"] == before["roll-0"] and after["roll-1"] == before["roll-1"]
