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

from emulator import ImageDefaults, Runtime, netns, wait_until
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
    assert sh(p, "stat -c %a:%u:%g /etc/demo-secret/pass") == "440:0:999"
    assert sh(p, "cat /etc/demo-secret/pass") == PASSWORD
    assert sh(p, "stat -c %a /etc/demo/redis.conf") == "444"
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
