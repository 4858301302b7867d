"""The first process of an emulated container: builds its filesystem view, then execs its command.

container.py starts it as
    nsenter --net=POD_NETNS --uts=POD_UTS unshare --mount --propagation private \
        python container_init.py SPEC.json
so it already runs in the pod's network and UTS namespaces and in a fresh, private mount
namespace of its own: every mount below dies with the container's last process, nothing leaks
to the host. It then
  1. mounts the root: an overlay whose lower layer is the host's / (our "image"; the host's
     binaries are in it) and whose upper layer is a tmpfs, so writes never reach the host;
  2. writes image details into the upper layer: the image table's symlinks to the installed
     binaries (e.g. an image's /usr/local/bin paths), a passwd entry for runAsUser, mount points;
  3. binds /dev, /proc, /sys, the volumes, /etc/hosts and /etc/resolv.conf;
  4. remounts the root read-only when readOnlyRootFilesystem is set;
  5. chroots, and execs the command through the setpriv wrapper in the spec (uid, gid,
     groups, no_new_privs, capability bounding set).
Only the standard library: it runs before anything else is set up.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

def log(msg: str) -> None:
    print(f"[container-init] {msg}", file=sys.stderr, flush=True)


def mount(*args: str) -> None:
    proc = subprocess.run(["mount", *args], capture_output=True, text=True, timeout=20)
    if proc.returncode != 0:
        raise RuntimeError(f"mount {' '.join(args)}: {proc.stderr.strip()}")


def make_opaque(upper: str, path: str) -> None:
    """Make PATH an empty directory in the overlay (the image's /tmp is empty, not the host's)."""
    d = os.path.join(upper, path.lstrip("/"))
    os.makedirs(d, exist_ok=True)
    try:
        os.setxattr(d, "trusted.overlay.opaque", b"y")
    except OSError as e:
        log(f"cannot hide host {path} ({e}); the container sees the host's files there")


def setup_root(spec: dict) -> str:
    scratch = spec["scratch"]
    os.makedirs(scratch, exist_ok=True)
    mount("-t", "tmpfs", "-o", "mode=0755", "tmpfs", scratch)
    upper, work, root = (os.path.join(scratch, d) for d in ("upper", "work", "root"))
    for d in (upper, work, root):
        os.makedirs(d)
    for path in spec.get("empty_dirs", []):
        make_opaque(upper, path)
    mount("-t", "overlay", "overlay", "-o",
          f"lowerdir=/,upperdir={upper},workdir={work}", root)
    return root


def inside(root: str, path: str) -> str:
    return os.path.join(root, path.lstrip("/"))


def write_image_files(root: str, spec: dict) -> None:
    for link, target in spec.get("symlinks", {}).items():
        p = inside(root, link)
        if not os.path.lexists(p):
            os.makedirs(os.path.dirname(p), exist_ok=True)
            os.symlink(target, p)
    user = spec.get("passwd")
    if user:
        _ensure_passwd(root, user)
    if spec.get("cwd"):
        os.makedirs(inside(root, spec["cwd"]), exist_ok=True)


def _ensure_passwd(root: str, user: dict) -> None:
    """Add the run-as uid/gid to the container's passwd/group if the image lacks them."""
    passwd, group = inside(root, "/etc/passwd"), inside(root, "/etc/group")
    uids = {line.split(":")[2] for line in open(passwd) if line.count(":") >= 6}
    if str(user["uid"]) not in uids:
        with open(passwd, "a") as f:
            f.write(f"{user['name']}:x:{user['uid']}:{user['gid']}::{user['home']}:/bin/sh\n")
    gids = {line.split(":")[2] for line in open(group) if line.count(":") >= 3}
    if str(user["gid"]) not in gids:
        with open(group, "a") as f:
            f.write(f"{user['name']}:x:{user['gid']}:\n")


def bind_mounts(root: str, spec: dict) -> None:
    mount("--rbind", "/dev", inside(root, "/dev"))
    mount("--bind", "/proc", inside(root, "/proc"))
    mount("--bind", "-o", "ro", "/sys", inside(root, "/sys"))
    for m in spec["mounts"]:
        target = inside(root, m["target"])
        if os.path.isdir(m["source"]):
            os.makedirs(target, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            if not os.path.exists(target):
                open(target, "a").close()
        mount("--bind", m["source"], target)
        if m.get("read_only"):
            mount("-o", "remount,bind,ro", target)


def make_root_read_only(root: str, spec: dict) -> bool:
    """readOnlyRootFilesystem: the root mount read-only; volumes, /dev and /proc stay as they
    are (as with a real runtime). Falls back loudly when the kernel refuses."""
    try:
        mount("-o", "remount,bind,ro", root)
        return True
    except RuntimeError as e:
        log(f"WARNING: readOnlyRootFilesystem requested but the root stays writable: {e}")
        return False


def exec_command(spec: dict) -> None:
    """exec the command, through the setpriv WRAPPER container.py built (uid, gid, groups,
    no_new_privs, capabilities) when there is one."""
    argv, env = spec["argv"], spec["env"]
    full = spec.get("wrapper", []) + argv
    try:
        os.execvpe(full[0], full, env)
    except OSError as e:
        log(f"exec {argv} failed: {e}")
        sys.exit(127)


def main() -> None:
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    status: dict = {}
    try:
        root = setup_root(spec)
        write_image_files(root, spec)
        bind_mounts(root, spec)
        if spec.get("read_only_root"):
            status["read_only_root"] = make_root_read_only(root, spec)
        with open(spec["status_file"], "w") as f:
            json.dump(status, f)
        os.chroot(root)
        os.chdir(spec.get("cwd") or "/")
    except Exception as e:  # report in the container log, exit like a runtime error would
        log(f"container setup failed: {e}")
        sys.exit(128)
    exec_command(spec)


if __name__ == "__main__":
    main()
