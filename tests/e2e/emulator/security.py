"""A container's identity from its securityContext and its pod's: uid, gid, groups
(fsGroup, supplementalGroups), no_new_privs and the capability bounding set, applied with
setpriv, and the passwd entry an image may lack for the uid."""

from __future__ import annotations

from .images import ImageDefaults
from .manifests import ManifestError


class SecurityContext:
    """The container's securityContext over the pod's. WHO names it in errors (pod/container)."""

    def __init__(self, who: str, pod_spec: dict, container_spec: dict):
        self.who = who
        self.pod_sc = pod_spec.get("securityContext") or {}
        self.own = container_spec.get("securityContext") or {}
        self.user = self._user()

    def get(self, key: str):
        own = self.own.get(key)
        if own is not None:
            return own
        return self.pod_sc.get(key)

    def _user(self) -> dict | None:
        uid, gid = self.get("runAsUser"), self.get("runAsGroup")
        if self.get("runAsNonRoot") and not uid:
            raise ManifestError(f"{self.who}: runAsNonRoot is set but the "
                                f"container would run as root (CreateContainerConfigError)")
        groups = [g for g in [self.pod_sc.get("fsGroup"),
                              *(self.pod_sc.get("supplementalGroups") or [])]
                  if g is not None]
        if uid is None and gid is None and not groups:
            return None
        return {"uid": uid or 0, "gid": gid or 0, "groups": sorted(set(groups))}

    @property
    def read_only_root(self) -> bool:
        return bool(self.get("readOnlyRootFilesystem"))

    def setpriv_wrapper(self) -> list[str]:
        """setpriv arguments giving a process the container's identity: uid, gid, groups,
        no_new_privs, capability bounding set. Used for the container's first process and
        for every exec (probes, hooks) alike; empty when there is nothing to change."""
        w = []
        if self.user:
            w += [f"--reuid={self.user['uid']}", f"--regid={self.user['gid']}"]
            groups = ",".join(map(str, self.user["groups"]))
            w += [f"--groups={groups}"] if groups else ["--clear-groups"]
        if self.get("allowPrivilegeEscalation") is False:
            w.append("--no-new-privs")
        if "ALL" in ((self.get("capabilities") or {}).get("drop") or []):
            w += ["--inh-caps=-all", "--bounding-set=-all"]
        return ["/usr/bin/setpriv", *w, "--"] if w else []

    def passwd_entry(self, image: ImageDefaults) -> dict | None:
        """A passwd/group entry for a non-root uid the image may lack, named as the image's
        table names it (ImageDefaults.users), else `user<uid>`."""
        if not self.user or not self.user["uid"]:
            return None
        uid = self.user["uid"]
        return {"uid": uid, "gid": self.user["gid"] or uid,
                "name": dict(image.users).get(uid, f"user{uid}"),
                "home": image.workdir}
