"""Volumes as host directories (what the kubelet's volume plugins set up): ConfigMap/Secret
files, emptyDirs, claims with the binding checks a PV controller makes, fsGroup ownership, and
volumeMounts with subPath."""

from __future__ import annotations

import os
import pathlib
import secrets
import shutil
import time
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
        self.projected: dict[str, dict[str, tuple[bytes, int]]] = {}  # volume -> payload
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
        store = self.pod.cluster.store
        if "configMap" in vol or "secret" in vol:
            root.mkdir(parents=True)
            self._project(vol, root)
            return root
        if "emptyDir" in vol:
            # medium Memory would be a tmpfs; a plain directory behaves the same for tests.
            root.mkdir(parents=True)
            root.chmod(0o777)
            self.set_ownership(root, read_only=False)
            return root
        if "persistentVolumeClaim" in vol:
            ns = self.pod.namespace
            claim = vol["persistentVolumeClaim"]["claimName"]
            pvc = store.get("PersistentVolumeClaim", ns, claim)
            path = self.pod.cluster.bind_claim(ns, claim, pvc)
            self.set_ownership(path, read_only=False)
            return path
        kinds = sorted(set(vol) - {"name"})
        raise ManifestError(f"pod {self.pod.name}: volume {name} of type {kinds} is not emulated")

    # -- ConfigMap and Secret volumes ---------------------------------------------------------
    #
    # Laid out as the kubelet's AtomicWriter does: the files live in a timestamped directory
    # `..<timestamp>/`, `..data` is a symlink to it, and each top-level name is a symlink
    # `name -> ..data/name`. An update writes a new timestamped directory, swaps `..data` by
    # a rename (atomic: a reader sees the old set or the new one, never a mix), fixes the
    # top-level links and removes the old directory. A subPath mount binds the file the link
    # resolved to when the container started, so it keeps the old content.

    def _source(self, vol: dict) -> tuple[str, str, dict, dict[str, bytes] | None]:
        """(kind, object name, volume source, the object's data or None when missing)."""
        store, ns = self.pod.cluster.store, self.pod.namespace
        if "configMap" in vol:
            src = vol["configMap"]
            obj = store.find("ConfigMap", ns, src["name"])
            return "ConfigMap", src["name"], src, configmap_data(obj) if obj else None
        src = vol["secret"]
        obj = store.find("Secret", ns, src["secretName"])
        return "Secret", src["secretName"], src, secret_data(obj) if obj else None

    def _payload(self, vol: dict) -> dict[str, tuple[bytes, int]]:
        """path -> (content, mode): what the volume must hold now."""
        kind, obj_name, src, data = self._source(vol)
        what = f"{kind} {obj_name}"
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
        payload = {}
        for item in items:
            if item["key"] not in data:
                if src.get("optional"):
                    continue
                raise ManifestError(f"pod {self.pod.name}: {what} has no key {item['key']}")
            payload[item["path"]] = (data[item["key"]], item.get("mode", default_mode))
        return payload

    def _project(self, vol: dict, root: pathlib.Path) -> bool:
        """Write VOL's current payload into ROOT (the AtomicWriter's steps); False when the
        content is already there."""
        payload = self._payload(vol)
        if self.projected.get(vol["name"]) == payload:
            return False
        stamp = time.strftime("..%Y_%m_%d_%H_%M_%S.", time.gmtime()) + secrets.token_hex(5)
        new_dir = root / stamp
        new_dir.mkdir(mode=0o755)
        new_dir.chmod(0o755)
        for rel, (content, mode) in payload.items():
            path = new_dir / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
            path.chmod(mode)
        # Secret and ConfigMap volumes always get the full fsGroup walk (the kubelet passes no
        # fsGroupChangePolicy for them).
        self.set_ownership(new_dir, read_only=True, force=True)
        data_link = root / "..data"
        old_dir = root / os.readlink(data_link) if data_link.is_symlink() else None
        tmp_link = root / "..data_tmp"
        if tmp_link.is_symlink():
            tmp_link.unlink()
        tmp_link.symlink_to(stamp)
        os.rename(tmp_link, data_link)
        wanted = {rel.split("/", 1)[0] for rel in payload}
        for top in wanted:
            link = root / top
            if not link.is_symlink():
                link.symlink_to(f"..data/{top}")
        for old in (self.projected.get(vol["name"]) or {}):
            top = old.split("/", 1)[0]
            if top not in wanted and (root / top).is_symlink():
                (root / top).unlink()
        if old_dir is not None and old_dir.is_dir():
            shutil.rmtree(old_dir)
        self.set_ownership(root, read_only=True, force=True)
        self.projected[vol["name"]] = payload
        return True

    def refresh(self, kind: str, name: str) -> list[str]:
        """The kubelet's sync after KIND/NAME (ConfigMap or Secret) changed: every volume of
        this pod projecting it gets the new content (the `..data` swap). Returns the volumes
        updated."""
        updated = []
        for vol in self.pod.spec.get("volumes") or []:
            if not ("configMap" in vol or "secret" in vol):
                continue
            vkind, obj_name, _, _ = self._source(vol)
            if (vkind, obj_name) == (kind, name) and vol["name"] in self.paths:
                if self._project(vol, self.paths[vol["name"]]):
                    updated.append(vol["name"])
        return updated

    def set_ownership(self, root: pathlib.Path, read_only: bool, force: bool = False) -> None:
        """fsGroup: group-own everything and grant the group read (and write for writable
        volumes), setgid on directories (kubelet's SetVolumeOwnership). FORCE: ignore
        fsGroupChangePolicy, as for Secret and ConfigMap volumes."""
        if self.fs_group is None:
            return
        mask = 0o440 if read_only else 0o660
        st = root.stat()
        dir_mask = mask | 0o2000 | 0o110
        if (not force and self.on_root_mismatch and st.st_gid == self.fs_group
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
