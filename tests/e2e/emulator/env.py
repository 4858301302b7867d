"""A container's environment as the kubelet builds it: envFrom, env with `$(VAR)` expansion,
and valueFrom (fieldRef, secretKeyRef, configMapKeyRef, resourceFieldRef)."""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

from .images import IMAGE_PATH
from .manifests import (
    ManifestError,
    configmap_data,
    expand,
    parse_cpu_millis,
    parse_quantity_bytes,
    secret_data,
)

if TYPE_CHECKING:
    from .container import Container
    from .pod import Pod


def resolve_env(container: Container) -> dict[str, str]:
    pod, store, spec = container.pod, container.pod.cluster.store, container.spec
    env: dict[str, str] = {}
    for src in spec.get("envFrom") or []:
        prefix = src.get("prefix", "")
        if "configMapRef" in src:
            ref = src["configMapRef"]
            obj = store.find("ConfigMap", pod.namespace, ref["name"])
            data = configmap_data(obj) if obj else _missing(ref, "ConfigMap", pod)
        else:
            ref = src["secretRef"]
            obj = store.find("Secret", pod.namespace, ref["name"])
            data = secret_data(obj) if obj else _missing(ref, "Secret", pod)
        env.update({prefix + k: v.decode() for k, v in data.items()})
    defined: dict[str, str] = dict(env)
    for e in spec.get("env") or []:
        if "valueFrom" in e:
            value = _value_from(container, e["name"], e["valueFrom"])
            if value is None:
                continue
        else:
            # $(VAR) refers to variables defined earlier in the list.
            value = expand(e.get("value", ""), defined)
        defined[e["name"]] = value
    user = container.security.user
    base = {"PATH": IMAGE_PATH, "HOSTNAME": pod.hostname,
            "HOME": "/root" if not user or user["uid"] == 0 else "/"}
    return {**base, **defined}


def _value_from(container: Container, name: str, vf: dict) -> str | None:
    pod, store = container.pod, container.pod.cluster.store
    if "fieldRef" in vf:
        return _field_ref(pod, vf["fieldRef"]["fieldPath"])
    if "secretKeyRef" in vf or "configMapKeyRef" in vf:
        kind = "Secret" if "secretKeyRef" in vf else "ConfigMap"
        ref = vf["secretKeyRef"] if kind == "Secret" else vf["configMapKeyRef"]
        obj = store.find(kind, pod.namespace, ref["name"])
        data = (secret_data(obj) if kind == "Secret" else configmap_data(obj)) if obj else None
        if data is None or ref["key"] not in data:
            if ref.get("optional"):
                return None
            raise ManifestError(f"{pod.name}/{container.name}: env {name}: {kind} "
                                f"{ref['name']} key {ref['key']} not found")
        return data[ref["key"]].decode()
    if "resourceFieldRef" in vf:
        return _resource_ref(container.spec, vf["resourceFieldRef"])
    raise ManifestError(f"{pod.name}/{container.name}: env {name}: unsupported valueFrom {vf}")


def _missing(ref: dict, kind: str, pod: Pod) -> dict:
    if ref.get("optional"):
        return {}
    raise ManifestError(f"pod {pod.name}: envFrom {kind} {ref['name']} not found")


def _field_ref(pod: Pod, path: str) -> str:
    simple = {
        "metadata.name": pod.name,
        "metadata.namespace": pod.namespace,
        "metadata.uid": pod.uid,
        "spec.nodeName": "e2e-node",
        "spec.serviceAccountName": pod.spec.get("serviceAccountName", "default"),
        "status.podIP": pod.ip or "",
        "status.podIPs": pod.ip or "",
        "status.hostIP": pod.ip or "",
    }
    if path in simple:
        return simple[path]
    m = re.fullmatch(r"metadata\.(labels|annotations)\['(.+)'\]", path)
    if m:
        source = pod.labels if m.group(1) == "labels" else {}
        return source.get(m.group(2), "")
    raise ManifestError(f"pod {pod.name}: fieldRef {path} is not emulated")


def _resource_ref(container: dict, ref: dict) -> str:
    kind, res = ref["resource"].split(".", 1)
    value = ((container.get("resources") or {}).get(kind) or {}).get(res)
    divisor = ref.get("divisor", "1")
    if res == "cpu":
        millis = parse_cpu_millis(value) if value is not None else 2000  # node allocatable
        return str(math.ceil(millis / parse_cpu_millis(divisor)))
    amount = parse_quantity_bytes(value) if value is not None else 24 * 2**30
    return str(math.ceil(amount / parse_quantity_bytes(divisor)))
