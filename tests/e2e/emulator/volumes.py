"""Volumes as host directories (what the kubelet's volume plugins set up): ConfigMap/Secret
files, emptyDirs, claims with the binding checks a PV controller makes, fsGroup ownership, and
volumeMounts with subPath."""

from __future__ import annotations

import os
import pathlib
from typing import TYPE_CHECKING

from .manifests import ManifestError, ObjectStore, configmap_data, expand, secret_data

if TYPE_CHECKING:
    from .pod import Pod


def bind_claim(store: ObjectStore, claims_root: pathlib.Path, namespace: str, claim: str,
               spec_holder: dict) -> pathlib.Path:
    """A claim's directory (CLAIMS_ROOT/namespace/claim, outliving pods), after the binding
    checks a PV controller would make.

    Static binding is checked when PersistentVolumes are among the objects: a claim whose
    storage class is "" or a class only those PVs use binds only to a matching PV, and
    stays Pending (an error here) without one. Other classes are provisioned dynamically.
    """
    spec = spec_holder.get("spec") or {}
    sc = spec.get("storageClassName")
    pvs = store.list("PersistentVolume")
    static_classes = {(pv["spec"].get("storageClassName") or "") for pv in pvs}
    pre_bound = [pv for pv in pvs
                 if (pv["spec"].get("claimRef") or {}).get("name") == claim
                 and (pv["spec"].get("claimRef") or {}).get("namespace") == namespace]
    if pre_bound:
        pv = pre_bound[0]
        pv_sc = pv["spec"].get("storageClassName") or ""
        if sc is not None and pv_sc != sc:
            raise ManifestError(
                f"PVC {namespace}/{claim} (class {sc!r}) would stay Pending: "
                f"PV {pv['metadata']['name']} is pre-bound to it but has class {pv_sc!r}")
    elif sc == "" or (sc is not None and sc in static_classes):
        free = [pv for pv in pvs if not pv["spec"].get("claimRef")
                and (pv["spec"].get("storageClassName") or "") == (sc or "")]
        if not free:
            refs = [f"{pv['metadata']['name']} -> "
                    f"{(pv['spec'].get('claimRef') or {}).get('namespace')}/"
                    f"{(pv['spec'].get('claimRef') or {}).get('name')}" for pv in pvs]
            raise ManifestError(
                f"PVC {namespace}/{claim} (class {sc!r}) would stay Pending: no "
                f"PersistentVolume binds it (no provisioner serves a class used only by "
                f"static PVs). PVs: {refs}")
    path = claims_root / namespace / claim
    path.mkdir(parents=True, exist_ok=True)
    return path


class VolumeSet:
    """A pod's volumes as host directories (what the kubelet's volume plugins set up)."""

    def __init__(self, pod: Pod):
        self.pod = pod
        self.paths: dict[str, pathlib.Path] = {}
        sc = pod.spec.get("securityContext") or {}
        self.fs_group: int | None = sc.get("fsGroup")
        self.on_root_mismatch = sc.get("fsGroupChangePolicy") == "OnRootMismatch"

    def materialize(self) -> None:
        for vol in self.pod.spec.get("volumes") or []:
            self.paths[vol["name"]] = self._materialize(vol)
        for name, path in self.pod.claims.items():
            self.paths[name] = path
            self.set_ownership(path, read_only=False)

    def _materialize(self, vol: dict) -> pathlib.Path:
        name = vol["name"]
        root = self.pod.dir / "volumes" / name
        store, ns = self.pod.cluster.store, self.pod.namespace
        if "configMap" in vol:
            src = vol["configMap"]
            obj = store.find("ConfigMap", ns, src["name"])
            data = configmap_data(obj) if obj else None
            return self._projected(root, src, data, f"ConfigMap {src['name']}")
        if "secret" in vol:
            src = vol["secret"]
            obj = store.find("Secret", ns, src["secretName"])
            data = secret_data(obj) if obj else None
            return self._projected(root, src, data, f"Secret {src['secretName']}")
        if "emptyDir" in vol:
            # medium Memory would be a tmpfs; a plain directory behaves the same for tests.
            root.mkdir(parents=True)
            root.chmod(0o777)
            self.set_ownership(root, read_only=False)
            return root
        if "persistentVolumeClaim" in vol:
            claim = vol["persistentVolumeClaim"]["claimName"]
            pvc = store.get("PersistentVolumeClaim", ns, claim)
            path = self.pod.cluster.bind_claim(ns, claim, pvc)
            self.set_ownership(path, read_only=False)
            return path
        kinds = sorted(set(vol) - {"name"})
        raise ManifestError(f"pod {self.pod.name}: volume {name} of type {kinds} is not emulated")

    def _projected(self, root: pathlib.Path, src: dict, data: dict[str, bytes] | None,
                   what: str) -> pathlib.Path:
        """ConfigMap/Secret files with items, modes and fsGroup, as the atomic writer does."""
        if data is None:
            if src.get("optional"):
                data = {}
            else:
                raise ManifestError(f"pod {self.pod.name}: {what} not found in namespace "
                                    f"{self.pod.namespace} (pod stays ContainerCreating)")
        default_mode = src.get("defaultMode", 0o644)  # the API's default
        items = src.get("items")
        if items is None:
            items = [{"key": k, "path": k} for k in data]
        root.mkdir(parents=True)
        for item in items:
            if item["key"] not in data:
                if src.get("optional"):
                    continue
                raise ManifestError(f"pod {self.pod.name}: {what} has no key {item['key']}")
            path = root / item["path"]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data[item["key"]])
            path.chmod(item.get("mode", default_mode))
        self.set_ownership(root, read_only=True)
        return root

    def set_ownership(self, root: pathlib.Path, read_only: bool) -> None:
        """fsGroup: group-own everything and grant the group read (and write for writable
        volumes), setgid on directories (kubelet's SetVolumeOwnership)."""
        if self.fs_group is None:
            return
        mask = 0o440 if read_only else 0o660
        st = root.stat()
        dir_mask = mask | 0o2000 | 0o110
        if (self.on_root_mismatch and st.st_gid == self.fs_group
                and st.st_mode & dir_mask == dir_mask):
            return  # fsGroupChangePolicy OnRootMismatch: the root is right, skip the walk
        for path in [root, *root.rglob("*")]:
            if path.is_symlink():
                continue
            os.chown(path, -1, self.fs_group)
            st_mode = path.stat().st_mode
            extra = mask | (0o2000 | 0o110 if path.is_dir() else 0)
            path.chmod((st_mode & 0o7777) | extra)

    def mounts_for(self, container: dict, env: dict[str, str]) -> list[dict]:
        out = []
        for m in container.get("volumeMounts") or []:
            if m["name"] not in self.paths:
                raise ManifestError(f"pod {self.pod.name}: volumeMount {m['name']} has no volume")
            source = self.paths[m["name"]]
            sub = m.get("subPath")
            if m.get("subPathExpr"):
                sub = expand(m["subPathExpr"], env)
            if sub:
                source = source / sub
                if not source.exists():  # the kubelet creates a missing subPath as a directory
                    source.mkdir(parents=True)
            out.append({"source": str(source), "target": m["mountPath"],
                        "read_only": bool(m.get("readOnly"))})
        return out
