"""Pod sandboxes: one network namespace and one UTS namespace per pod, wired to a bridge.

The bridge lives in a network namespace of its own, so pod addresses (10.244.0.0/16) exist only
inside namespaces this harness created and never touch the host's interfaces or routes.
Every name starts with PREFIX and the run id, so a later run can find and remove what a crashed
run left behind (see `cleanup_stale_runs`).
"""

from __future__ import annotations

import fcntl
import ipaddress
import os
import pathlib
import secrets
import shutil
import signal
import subprocess
import threading
import time

PREFIX = "rke2e"
STATE_ROOT = pathlib.Path("/run") / PREFIX
BRIDGE = "br0"
NETNS_DIR = pathlib.Path("/run/netns")


class SandboxError(Exception):
    pass


def run(argv: list[str], timeout: float = 30, check: bool = True) -> subprocess.CompletedProcess:
    """Run a plumbing command with a deadline; raise with its stderr on failure."""
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise SandboxError(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr.strip()}")
    return proc


def netns_inode(name: str) -> tuple[int, int] | None:
    try:
        st = os.stat(NETNS_DIR / name)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


def pids_in_netns(name: str) -> list[int]:
    """Every process whose network namespace is NAME (what `ip netns pids` does)."""
    target = netns_inode(name)
    if target is None:
        return []
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            st = os.stat(f"/proc/{entry}/ns/net")
        except (FileNotFoundError, PermissionError, ProcessLookupError):
            continue
        if (st.st_dev, st.st_ino) == target:
            out.append(int(entry))
    return out


def kill_netns_processes(name: str, deadline_s: float = 10) -> None:
    """SIGKILL everything in a network namespace and wait until it is gone."""
    deadline = time.monotonic() + deadline_s
    while True:
        pids = pids_in_netns(name)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if time.monotonic() > deadline:
            raise SandboxError(f"processes {pids} in netns {name} survive SIGKILL")
        time.sleep(0.05)


def mac_for(ip: str) -> str:
    """A locally administered MAC derived from the IP: a re-used IP keeps its MAC, so a peer's
    cached ARP entry for it stays right instead of black-holing traffic."""
    b = ipaddress.IPv4Address(ip).packed
    return "02:42:" + ":".join(f"{x:02x}" for x in b)


class RunLock:
    """A lock file held for the life of a run; a run whose lock can be taken is dead."""

    def __init__(self, run_id: str):
        STATE_ROOT.mkdir(parents=True, exist_ok=True)
        self.path = STATE_ROOT / f"{run_id}.lock"
        self._fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def release(self) -> None:
        if self._fd >= 0:
            self.path.unlink(missing_ok=True)
            os.close(self._fd)
            self._fd = -1


def run_is_alive(run_id: str) -> bool:
    path = STATE_ROOT / f"{run_id}.lock"
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _list_netns() -> list[str]:
    proc = run(["ip", "netns", "list"], check=False)
    return [line.split()[0] for line in proc.stdout.splitlines() if line.strip()]


def _unmount_under(path: pathlib.Path) -> None:
    """Unmount every mount point at or below PATH (deepest first)."""
    prefix = str(path)
    mounts = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4]
            if mp == prefix or mp.startswith(prefix + "/"):
                mounts.append(mp)
    for mp in sorted(mounts, key=len, reverse=True):
        run(["umount", "-l", mp], check=False)


def cleanup_run(run_id: str) -> list[str]:
    """Remove every namespace, process and mount of one run. Returns what it removed."""
    removed = []
    names = [n for n in _list_netns() if n.startswith(f"{PREFIX}-{run_id}-")]
    # Pods first (their processes, then their namespaces; their veth ends die with them),
    # the bridge namespace last.
    names.sort(key=lambda n: n.endswith("-net"))
    for name in names:
        kill_netns_processes(name)
        run(["ip", "netns", "del", name], check=False)
        removed.append(f"netns {name}")
    state = STATE_ROOT / run_id
    if state.exists():
        _unmount_under(state)
        shutil.rmtree(state, ignore_errors=True)
        removed.append(f"dir {state}")
    (STATE_ROOT / f"{run_id}.lock").unlink(missing_ok=True)
    return removed


def cleanup_stale_runs() -> list[str]:
    """Remove what earlier runs that are no longer alive left behind (crash, SIGKILL)."""
    run_ids = {n[len(PREFIX) + 1:].split("-", 1)[0] for n in _list_netns()
               if n.startswith(PREFIX + "-")}
    if STATE_ROOT.exists():
        run_ids |= {p.stem for p in STATE_ROOT.iterdir()}
    removed = []
    for run_id in sorted(run_ids):
        if not run_is_alive(run_id):
            removed += cleanup_run(run_id)
    return removed


def new_run_id() -> str:
    return f"{os.getpid():x}{secrets.token_hex(2)}"


class Network:
    """The bridge namespace of one run, and a pod IP allocator that never re-uses an address
    (a recreated pod must come back with a new IP, as it does on a real cluster)."""

    def __init__(self, run_id: str, subnet: str = "10.244.0.0/16"):
        self.run_id = run_id
        self.subnet = ipaddress.IPv4Network(subnet)
        self.bridge_ns = f"{PREFIX}-{run_id}-net"
        self._hosts = self.subnet.hosts()
        next(self._hosts)  # .1 is the customary gateway address; keep it free
        self._lock = threading.Lock()
        self._seq = 0
        run(["ip", "netns", "add", self.bridge_ns])
        run(["ip", "-n", self.bridge_ns, "link", "set", "lo", "up"])
        run(["ip", "-n", self.bridge_ns, "link", "add", BRIDGE, "type", "bridge"])
        run(["ip", "-n", self.bridge_ns, "link", "set", BRIDGE, "up"])

    def allocate(self) -> tuple[str, int]:
        """A fresh IP and a sequence number for naming."""
        with self._lock:
            self._seq += 1
            try:
                return str(next(self._hosts)), self._seq
            except StopIteration:
                raise SandboxError(f"{self.subnet} is exhausted") from None

    def destroy(self) -> None:
        run(["ip", "netns", "del", self.bridge_ns], check=False)


class Sandbox:
    """A pod's network and UTS namespaces (what a CRI runtime calls the pod sandbox)."""

    def __init__(self, network: Network, pod_name: str):
        self.network = network
        self.ip, seq = network.allocate()
        # netns names are file names; keep the pod name in them for `ip netns list` readers.
        self.netns = f"{PREFIX}-{network.run_id}-{seq}-{pod_name}"[:200]
        self.veth = f"rkv{seq}"
        self.uts_file = STATE_ROOT / network.run_id / "uts" / self.netns
        self.hostname = pod_name[:63]
        self._create()

    def _create(self) -> None:
        ns, br = self.netns, self.network.bridge_ns
        try:
            run(["ip", "netns", "add", ns])
            # Both ends are created inside namespaces of ours; the host never sees either.
            run(["ip", "-n", br, "link", "add", self.veth, "type", "veth",
                 "peer", "name", "eth0", "netns", ns])
            run(["ip", "-n", br, "link", "set", self.veth, "master", BRIDGE, "up"])
            run(["ip", "-n", ns, "link", "set", "eth0", "address", mac_for(self.ip)])
            prefix = self.network.subnet.prefixlen
            run(["ip", "-n", ns, "addr", "add", f"{self.ip}/{prefix}", "dev", "eth0"])
            run(["ip", "-n", ns, "link", "set", "eth0", "up"])
            run(["ip", "-n", ns, "link", "set", "lo", "up"])
            self.uts_file.parent.mkdir(parents=True, exist_ok=True)
            self.uts_file.touch()
            # `unshare --uts=FILE` keeps the new UTS namespace alive by bind-mounting it on FILE.
            run(["unshare", f"--uts={self.uts_file}", "hostname", self.hostname])
        except Exception:
            self.destroy()
            raise

    def pids(self) -> list[int]:
        return pids_in_netns(self.netns)

    def nsenter_args(self) -> list[str]:
        return ["nsenter", f"--net={NETNS_DIR / self.netns}", f"--uts={self.uts_file}"]

    def destroy(self) -> None:
        """Kill whatever still runs in the pod, then remove its namespaces (and so its veth)."""
        if netns_inode(self.netns) is not None:
            kill_netns_processes(self.netns)
            run(["ip", "netns", "del", self.netns], check=False)
        if self.uts_file.exists():
            run(["umount", str(self.uts_file)], check=False)
            self.uts_file.unlink(missing_ok=True)
