"""Rendering redkube profiles for the e2e tests, as a user would, plus deliberately broken
copies for the negative controls.

What a user does besides `redkube render`, the tests do too: export REDIS_PASSWORD for a
profile with `password-env`, and `kubectl create secret` for one with `existing-secret`.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import json
import os
import pathlib
import re
import secrets
import shutil
import subprocess
import tomllib

from emulator.manifests import ManifestError, configmap_data, load_documents

REPO = pathlib.Path(__file__).resolve().parents[2]


class RenderError(Exception):
    pass


def redkube_binary() -> pathlib.Path:
    """$REDKUBE_BIN, else `cargo build` the crate (a no-op when up to date)."""
    if os.environ.get("REDKUBE_BIN"):
        return pathlib.Path(os.environ["REDKUBE_BIN"])
    proc = subprocess.run(["cargo", "build", "--quiet", "--bin", "redkube"], cwd=REPO,
                          capture_output=True, text=True, timeout=900, check=False)
    if proc.returncode != 0:
        raise RenderError(f"cargo build failed:\n{proc.stderr[-4000:]}")
    return REPO / "target" / "debug" / "redkube"


def cluster_profiles() -> list[pathlib.Path]:
    return sorted((REPO / "profiles").glob("cluster-*.toml"))


@dataclasses.dataclass
class Rendered:
    """A rendered profile and what a test needs to know about it."""

    profile: pathlib.Path
    folder: pathlib.Path
    namespace: str
    cluster_domain: str
    password: str
    masters: int
    pods: int
    statefulset: str
    job: str
    port: int
    node_timeout_ms: int
    persistent: bool               # data outlives a pod (claims), or not (emptyDir)
    extra_objects: list[dict]      # what the user creates by hand (an existing Secret)

    @property
    def name(self) -> str:
        return self.profile.stem

    def objects(self) -> list[dict]:
        return self.extra_objects + load_documents(self.folder)


def _schema_default(binary: pathlib.Path, section: str, key: str):
    out = subprocess.run([str(binary), "schema"], capture_output=True, text=True, timeout=60,
                         check=True).stdout
    schema = json.loads(out)
    ref = schema["properties"][section]
    if "anyOf" in ref:
        ref = next(r for r in ref["anyOf"] if "$ref" in r)
    definition = schema["$defs"][ref["$ref"].rsplit("/", 1)[-1]]
    return definition["properties"][key].get("default")


def render_profile(binary: pathlib.Path, profile: pathlib.Path, out: pathlib.Path,
                   password: str | None = None) -> Rendered:
    """PASSWORD: the one a user keeps across renders (password-env, existing-secret); a new
    random one when None."""
    spec = tomllib.loads(profile.read_text())
    auth = spec.get("auth") or {}
    env = dict(os.environ)
    extra: list[dict] = []
    namespace = spec.get("namespace", "default")
    if "password" in auth:
        password = auth["password"]
    else:
        password = password or secrets.token_urlsafe(18)
        if "password-env" in auth:
            env[auth["password-env"]] = password
        elif "existing-secret" in auth:
            ref = auth["existing-secret"]
            extra.append(user_secret(ref["name"], ref.get("key", "password"), password,
                                     namespace))
        else:
            raise RenderError(f"{profile}: unknown [auth] form {sorted(auth)}")
    if out.exists():
        shutil.rmtree(out)
    proc = subprocess.run([str(binary), "render", str(profile), "-o", str(out)], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    if proc.returncode != 0:
        raise RenderError(f"redkube render {profile} failed:\n{proc.stdout}\n{proc.stderr}")
    objects = load_documents(out)
    sts = _only(objects, "StatefulSet")
    job = _only(objects, "Job")
    cluster = spec.get("cluster") or {}
    masters = cluster.get("masters") or _schema_default(binary, "cluster", "masters")
    container = sts["spec"]["template"]["spec"]["containers"][0]
    return Rendered(
        profile=profile, folder=out, namespace=namespace,
        cluster_domain=spec.get("cluster-domain", "cluster.local"),
        password=password, masters=int(masters),
        pods=int(sts["spec"].get("replicas", 1)),
        statefulset=sts["metadata"]["name"], job=job["metadata"]["name"],
        port=int(container["ports"][0]["containerPort"]),
        node_timeout_ms=_node_timeout_ms(objects),
        persistent=bool(sts["spec"].get("volumeClaimTemplates")),
        extra_objects=extra,
    )


# ---------------------------------------------------------------------------------------------
# Changed copies of a profile (day 2): edit the parsed TOML, write it back under the same file
# name in another folder (the stem names the deployment), render that.


def changed_profile(profile: pathlib.Path, edit, folder: pathlib.Path) -> pathlib.Path:
    """FOLDER/<profile's name>: PROFILE parsed, changed in place by EDIT(dict), written back."""
    spec = tomllib.loads(profile.read_text())
    edit(spec)
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / profile.name
    out.write_text(toml_dumps(spec))
    return out


def toml_dumps(spec: dict) -> str:
    """TOML for what profiles hold: tables, strings, numbers, booleans, arrays and inline
    tables of those (comments are not kept)."""
    lines: list[str] = []

    def value(v) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, str):
            return json.dumps(v)  # a TOML basic string is JSON-compatible for these
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{json.dumps(k)} = {value(x)}" for k, x in v.items()) + " }"
        raise TypeError(f"cannot write {v!r} as TOML")

    def table(path: list[str], d: dict) -> None:
        scalars = {k: v for k, v in d.items() if not isinstance(v, dict) or (path and _inline(v))}
        tables = {k: v for k, v in d.items() if k not in scalars}
        if path:
            lines.append(f"\n[{'.'.join(json.dumps(p) for p in path)}]")
        for k, v in scalars.items():
            lines.append(f"{json.dumps(k)} = {value(v)}")
        for k, v in tables.items():
            table(path + [k], v)

    table([], spec)
    return "\n".join(lines) + "\n"


def _inline(d: dict) -> bool:
    """A table of scalars only, written inline (resources.requests, auth.existing-secret)."""
    return bool(d) and all(not isinstance(v, dict) for v in d.values()) and len(d) <= 3 and \
        all(isinstance(v, (str, int, float, bool)) for v in d.values())


def user_secret(name: str, key: str, value: str, namespace: str) -> dict:
    """What `kubectl create secret generic NAME --from-literal=KEY=VALUE` creates."""
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": name, "namespace": namespace},
            "data": {key: base64.b64encode(value.encode()).decode()}}


def _only(objects: list[dict], kind: str) -> dict:
    found = [o for o in objects if o["kind"] == kind]
    if len(found) != 1:
        raise RenderError(f"expected one {kind}, found {len(found)}")
    return found[0]


def _node_timeout_ms(objects: list[dict]) -> int:
    """cluster-node-timeout from whichever ConfigMap holds the Redis config (15000: Redis'
    default)."""
    for cm in (o for o in objects if o["kind"] == "ConfigMap"):
        for text in configmap_data(cm).values():
            m = re.search(rb"^\s*cluster-node-timeout\s+(\d+)", text, re.M)
            if m:
                return int(m.group(1))
    return 15000


# ---------------------------------------------------------------------------------------------
# Broken copies for the negative controls: generic edits of ConfigMap text.


def _edit_configmaps(objects: list[dict], edit) -> tuple[list[dict], int]:
    """Apply EDIT(text) -> (text, changes) to every ConfigMap value; return the total."""
    out, total = copy.deepcopy(objects), 0
    for cm in (o for o in out if o["kind"] == "ConfigMap"):
        for key, text in (cm.get("data") or {}).items():
            new, n = edit(text)
            cm["data"][key] = new
            total += n
    return out, total


def without_masterauth(objects: list[dict]) -> list[dict]:
    """Drop every line that sets `masterauth` (in redis.conf or wherever a script writes it):
    replicas can no longer authenticate to their masters."""
    def edit(text: str) -> tuple[str, int]:
        lines = text.splitlines(keepends=True)
        kept = [line for line in lines if not re.search(r"\bmasterauth\b", line)]
        return "".join(kept), len(lines) - len(kept)
    out, n = _edit_configmaps(objects, edit)
    if n == 0:
        raise ManifestError("no ConfigMap line mentions masterauth: the negative control "
                            "would prove nothing")
    return out


def kustomize_overlay(rendered: Rendered, overlay_fixture: pathlib.Path,
                      workdir: pathlib.Path) -> pathlib.Path:
    """WORKDIR/base (a copy of the rendered folder) and WORKDIR/overlay (the fixture's
    kustomization, which refers to ../base). Returns the overlay folder."""
    base, overlay = workdir / "base", workdir / "overlay"
    for d in (base, overlay):
        if d.exists():
            shutil.rmtree(d)
    shutil.copytree(rendered.folder, base)
    shutil.copytree(overlay_fixture, overlay)
    return overlay
