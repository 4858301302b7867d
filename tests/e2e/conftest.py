"""Fixtures of the e2e suite: one emulator Runtime per session (cleaned up at the end, at exit,
and at the next start if a run crashed), the redkube binary, figures, failure logs.

The emulator (emulator/) knows no image: what the redis image adds and which host binaries
the Redis workloads need are registered here (IMAGES, REQUIRED_BINARIES).

The suite refuses to run without root, `ip`, `unshare` and the redis binaries: it fails under
CI=true and skips loudly elsewhere.
"""

from __future__ import annotations

import fcntl
import json
import os
import pathlib
import shutil
import signal
import sys
import time

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import render  # noqa: E402
from emulator import ImageDefaults, Runtime, Settings, missing_prerequisites  # noqa: E402

FILE_ORDER = ["test_script_contract.py", "test_emulator.py", "test_cluster.py",
              "test_kustomize.py", "test_sentinel.py", "test_day2.py", "test_negative.py",
              "test_day2_negative.py"]

# What the emulated "image" provides. The official redis image ships its binaries in
# /usr/local/bin, Debian in /usr/bin: the container root links the former to the latter.
REDIS_BINARIES = ("redis-server", "redis-cli", "redis-sentinel", "redis-benchmark",
                  "redis-check-aof", "redis-check-rdb")
IMAGES = {
    # docker-library/redis: WORKDIR /data, VOLUME /data, CMD redis-server, user redis (999).
    "redis": ImageDefaults(workdir="/data", cmd=("redis-server",), volumes=("/data",),
                           users=((999, "redis"),),
                           links=tuple((f"/usr/local/bin/{b}", b) for b in REDIS_BINARIES)),
}
# Host binaries the rendered manifests run (besides the emulator's own tools).
REQUIRED_BINARIES = ("redis-server", "redis-cli", "redis-sentinel")
_runtime: Runtime | None = None
_figures: list = []
_refusals: list[str] = []


def refuse(reason: str):
    """Fail under CI=true, skip (loudly) elsewhere."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"the e2e suite cannot run here: {reason}", pytrace=False)
    if reason not in _refusals:
        _refusals.append(reason)
        print(f"\n!!! e2e SKIPPED: {reason}", file=sys.stderr, flush=True)
    pytest.skip(f"e2e cannot run here: {reason}")


def pytest_configure(config):
    # A SIGTERM (CI timeout, a killed terminal) must still run the fixture finalizers.
    def on_term(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_term)


def pytest_collection_modifyitems(config, items):
    """Emulator self-tests first, then the scenarios, overlays, and negative controls last."""
    def rank(item):
        name = pathlib.Path(str(item.fspath)).name
        return FILE_ORDER.index(name) if name in FILE_ORDER else len(FILE_ORDER)
    items.sort(key=rank)  # stable: keeps pytest's own order within a file


@pytest.fixture(scope="session")
def runtime(request) -> Runtime:
    global _runtime
    problems = missing_prerequisites(REQUIRED_BINARIES)
    if problems:
        refuse("; ".join(problems))
    work = os.environ.get("E2E_WORKDIR")
    _runtime = Runtime(work_dir=pathlib.Path(work) if work else None,
                       settings=Settings(images=IMAGES), required_tools=REQUIRED_BINARIES,
                       subnet=os.environ.get("E2E_SUBNET", "10.244.0.0/16"))
    request.addfinalizer(_runtime.close)
    if _runtime.stale_removed:
        print(f"\nremoved leftovers of crashed runs: {_runtime.stale_removed}")
    return _runtime


@pytest.fixture(scope="session")
def kubectl() -> str:
    path = shutil.which("kubectl")
    if path is None:
        refuse("`kubectl` not found (needed for `kubectl kustomize`)")
    return path


@pytest.fixture(scope="session")
def redkube_bin() -> pathlib.Path:
    """The binary under test; no sources is a reason to skip, a failing build is not."""
    if not os.environ.get("REDKUBE_BIN") and not (render.REPO / "src" / "main.rs").exists():
        refuse("no redkube sources (src/main.rs) and no $REDKUBE_BIN")
    try:
        return render.redkube_binary()
    except render.RenderError as e:
        pytest.fail(str(e), pytrace=False)


@pytest.fixture(scope="session")
def figures_sink() -> list:
    return _figures


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On failure, append the tails of every open emulated cluster's logs to the report."""
    outcome = yield
    report = outcome.get_result()
    if report.failed and _runtime is not None and _runtime.clusters:
        # Clusters still running, else the one the test made last (closed in a finally).
        chosen = [c for c in _runtime.clusters if c.pods] or _runtime.clusters[-1:]
        for cluster in chosen:
            report.sections.append((f"emulated cluster {cluster.name}",
                                    cluster.logs_report(lines=40)))


def pytest_terminal_summary(terminalreporter):
    if _refusals:
        terminalreporter.write_sep("!", "e2e SKIPPED: " + "; ".join(_refusals), red=True)
    if not _figures:
        return
    terminalreporter.write_sep("=", "e2e figures")
    for f in _figures:
        terminalreporter.write_line(f"{f.profile}: {json.dumps(f.values)}")
    path = pathlib.Path(os.environ.get("E2E_FIGURES", render.REPO / "target" / "e2e-figures.json"))
    path.parent.mkdir(parents=True, exist_ok=True)
    # Groups of the suite run as parallel processes (.ci/e2e.sh) and share this file: append
    # under a lock so no group's figures overwrite another's.
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            runs = json.loads(path.read_text())
            if not isinstance(runs, list):
                runs = [runs]
        except (FileNotFoundError, json.JSONDecodeError):
            runs = []
        runs.append({"at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                     "group": os.environ.get("E2E_GROUP", "all"),
                     "figures": {f.profile: f.values for f in _figures}})
        path.write_text(json.dumps(runs, indent=1) + "\n")
    terminalreporter.write_line(f"figures appended to {path}")
