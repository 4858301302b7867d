"""Kubernetes objects as plain dicts: loading, indexing, label selection and `$(VAR)` expansion.

Nothing here knows any application's manifests; it knows the Kubernetes API only.
"""

from __future__ import annotations

import base64
import copy
import pathlib
import subprocess
from dataclasses import dataclass, field
from typing import Iterable, Iterator

import yaml

# Kinds without a namespace. Everything else is namespaced.
CLUSTER_SCOPED = frozenset(
    {
        "Namespace",
        "PersistentVolume",
        "StorageClass",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "PriorityClass",
    }
)

# Kinds the emulator reads, and kinds it knowingly ignores (they change nothing on one node).
EMULATED_KINDS = frozenset(
    {"StatefulSet", "Service", "ConfigMap", "Secret", "Job", "PersistentVolume",
     "PersistentVolumeClaim", "Pod"}
)
IGNORED_KINDS = frozenset(
    {"PodDisruptionBudget", "NetworkPolicy", "ServiceAccount", "Namespace", "StorageClass",
     "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding", "PriorityClass"}
)


class ManifestError(Exception):
    """The manifests are invalid or ask for something the emulator cannot do."""


@dataclass(frozen=True)
class Key:
    kind: str
    namespace: str | None
    name: str

    def __str__(self) -> str:
        ns = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {ns}{self.name}"


def load_documents(source: str | pathlib.Path) -> list[dict]:
    """Objects from a YAML stream (text), a YAML file, or a rendered folder.

    A folder is read through its kustomization.yaml `resources:` list when it has one (the
    order and membership kustomize would use), else every *.yaml / *.yml file in name order.
    """
    if isinstance(source, pathlib.Path):
        if source.is_dir():
            return list(_load_folder(source))
        return _parse_stream(source.read_text(), str(source))
    return _parse_stream(source, "<stream>")


def _load_folder(folder: pathlib.Path) -> Iterator[dict]:
    kustomization = next(
        (folder / n for n in ("kustomization.yaml", "kustomization.yml", "Kustomization")
         if (folder / n).is_file()),
        None,
    )
    if kustomization is not None:
        k = yaml.safe_load(kustomization.read_text()) or {}
        unknown = set(k) - {"apiVersion", "kind", "resources"}
        if unknown:
            raise ManifestError(
                f"{kustomization} uses {sorted(unknown)}: pass the folder through "
                "`kubectl kustomize` (kustomize_build) instead of loading it directly"
            )
        for res in k.get("resources") or []:
            path = folder / res
            if path.is_dir():
                yield from _load_folder(path)
            else:
                yield from _parse_stream(path.read_text(), str(path))
        return
    for path in sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml")):
        yield from _parse_stream(path.read_text(), str(path))


def _parse_stream(text: str, origin: str) -> list[dict]:
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as e:
        raise ManifestError(f"{origin}: invalid YAML: {e}") from e
    out: list[dict] = []
    for d in docs:
        if not isinstance(d, dict) or "kind" not in d or "apiVersion" not in d:
            raise ManifestError(f"{origin}: a document is not a Kubernetes object: {str(d)[:200]}")
        if d["kind"] == "List":
            out.extend(d.get("items") or [])
        else:
            out.append(d)
    return out


def kustomize_build(folder: pathlib.Path, timeout: float = 60) -> str:
    """`kubectl kustomize FOLDER`, as a user would before `kubectl apply`."""
    proc = subprocess.run(
        ["kubectl", "kustomize", str(folder)],
        capture_output=True, text=True, timeout=timeout, check=False,
    )
    if proc.returncode != 0:
        raise ManifestError(f"kubectl kustomize {folder} failed:\n{proc.stderr}")
    return proc.stdout


class ObjectStore:
    """What `kubectl apply` would have put in the API server, indexed by kind/namespace/name."""

    def __init__(self, default_namespace: str = "default"):
        self.default_namespace = default_namespace
        self._objects: dict[Key, dict] = {}
        self.ignored: list[Key] = []

    def apply(self, objects: Iterable[dict]) -> None:
        for obj in objects:
            key, obj = self.normalize(obj)
            self.put(key, obj)

    def normalize(self, obj: dict) -> tuple[Key, dict]:
        """A copy of OBJ as the API server stores it (namespace defaulted), and its key.
        Refuses kinds the emulator neither reads nor knowingly ignores."""
        obj = copy.deepcopy(obj)
        kind = obj["kind"]
        meta = obj.setdefault("metadata", {})
        if not meta.get("name"):
            raise ManifestError(f"a {kind} has no metadata.name")
        if kind in CLUSTER_SCOPED:
            ns = None
        else:
            ns = meta.setdefault("namespace", self.default_namespace)
        key = Key(kind, ns, meta["name"])
        if kind not in EMULATED_KINDS and kind not in IGNORED_KINDS:
            raise ManifestError(f"{key}: kind {kind} is not emulated")
        return key, obj

    def put(self, key: Key, obj: dict) -> None:
        if key.kind not in EMULATED_KINDS and key not in self.ignored:
            self.ignored.append(key)
        self._objects[key] = obj

    def delete(self, kind: str, namespace: str | None, name: str) -> bool:
        """`kubectl delete` (or a finished Job's ttlSecondsAfterFinished): True if it was there."""
        key = Key(kind, None if kind in CLUSTER_SCOPED else namespace, name)
        return self._objects.pop(key, None) is not None

    def find_key(self, key: Key) -> dict | None:
        return self._objects.get(key)

    def get(self, kind: str, namespace: str | None, name: str) -> dict:
        key = Key(kind, None if kind in CLUSTER_SCOPED else namespace, name)
        try:
            return self._objects[key]
        except KeyError:
            raise ManifestError(f"{key} not found (have: {self.names(kind)})") from None

    def find(self, kind: str, namespace: str | None, name: str) -> dict | None:
        key = Key(kind, None if kind in CLUSTER_SCOPED else namespace, name)
        return self._objects.get(key)

    def list(self, kind: str, namespace: str | None = None) -> list[dict]:
        return [
            o for k, o in self._objects.items()
            if k.kind == kind and (namespace is None or k.namespace == namespace)
        ]

    def names(self, kind: str) -> list[str]:
        return sorted(str(k) for k in self._objects if k.kind == kind)


# ---------------------------------------------------------------------------------------------
# Helpers on object contents.


def selector_matches(selector: dict | None, labels: dict | None) -> bool:
    """A Service selector (plain map) or a LabelSelector (matchLabels/matchExpressions)."""
    if not selector:
        return False
    labels = labels or {}
    if "matchLabels" in selector or "matchExpressions" in selector:
        for k, v in (selector.get("matchLabels") or {}).items():
            if labels.get(k) != v:
                return False
        for expr in selector.get("matchExpressions") or []:
            if not _expression_matches(expr, labels):
                return False
        return True
    return all(labels.get(k) == v for k, v in selector.items())


def _expression_matches(expr: dict, labels: dict) -> bool:
    key, op, values = expr["key"], expr["operator"], expr.get("values") or []
    if op == "In":
        return labels.get(key) in values
    if op == "NotIn":
        return labels.get(key) not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    raise ManifestError(f"unknown selector operator {op}")


def secret_data(secret: dict) -> dict[str, bytes]:
    """A Secret's keys, decoded; stringData wins over data as the API server merges them."""
    out = {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}
    out.update({k: v.encode() for k, v in (secret.get("stringData") or {}).items()})
    return out


def configmap_data(cm: dict) -> dict[str, bytes]:
    out = {k: v.encode() for k, v in (cm.get("data") or {}).items()}
    out.update({k: base64.b64decode(v) for k, v in (cm.get("binaryData") or {}).items()})
    return out


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes `$(VAR)` expansion (k8s.io/kubernetes third_party/forked/golang/expansion).

    `$$` is an escaped `$`; `$(NAME)` becomes the variable's value, or stays as written when
    NAME is not defined; any other `$` is kept.
    """
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c != "$" or i + 1 >= n:
            out.append(c)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "(":
            close = text.find(")", i + 2)
            if close < 0:
                out.append("$(")
                i += 2
            else:
                name = text[i + 2:close]
                out.append(env.get(name, f"$({name})"))
                i = close + 1
        else:
            out.append("$" + nxt)
            i += 2
    return "".join(out)


@dataclass
class Probe:
    """A container probe with the API defaults filled in."""

    kind: str  # readiness, liveness, startup
    spec: dict
    initial_delay: float = field(init=False)
    period: float = field(init=False)
    timeout: float = field(init=False)
    failure_threshold: int = field(init=False)
    success_threshold: int = field(init=False)

    def __post_init__(self) -> None:
        s = self.spec
        self.initial_delay = float(s.get("initialDelaySeconds", 0))
        self.period = float(s.get("periodSeconds", 10))
        self.timeout = float(s.get("timeoutSeconds", 1))
        self.failure_threshold = int(s.get("failureThreshold", 3))
        self.success_threshold = int(s.get("successThreshold", 1))
        if not any(k in s for k in ("exec", "tcpSocket", "httpGet", "grpc")):
            raise ManifestError(f"{self.kind} probe has no handler: {s}")


def parse_quantity_bytes(q: str | int) -> int:
    """A memory Quantity in bytes (only what resourceFieldRef needs)."""
    s = str(q)
    suffixes = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40,
                "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
    for suf, mult in suffixes.items():
        if s.endswith(suf):
            return int(float(s[: -len(suf)]) * mult)
    return int(float(s))


def parse_cpu_millis(q: str | int) -> int:
    s = str(q)
    return int(s[:-1]) if s.endswith("m") else int(float(s) * 1000)
