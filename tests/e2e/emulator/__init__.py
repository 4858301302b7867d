"""A one-node Kubernetes emulator for end-to-end tests: runs what manifests describe on real
processes, the way a kubelet and the controllers would, without a container runtime.

Objects are read generically (StatefulSet, Service, ConfigMap, Secret, Job, PersistentVolume,
PersistentVolumeClaim, Pod); nothing here knows any particular application. Per pod:
  * a network namespace with a fresh IP on a private bridge, and a UTS namespace (netns.py);
  * volumes on the host: ConfigMap/Secret files (items, defaultMode, fsGroup), emptyDirs, and
    one directory per claim that outlives the pod as a PVC does (volumes.py);
  * an /etc/hosts holding the kubelet entry plus every Service/pod record a cluster DNS would
    serve, rewritten in place as pods come and go or turn ready (dns.py);
  * per container a private mount namespace with an overlay root (container_init.py), the
    container's uid/gid (security.py), env with `$(VAR)` expansion (env.py), and its command
    run as written (container.py);
  * exec/tcpSocket probes (startup, liveness, readiness; probes.py), preStop hooks and
    termination grace;
  * `kubectl apply` of a later render (rollout.py): the `..data` swap of ConfigMap/Secret
    volumes, new Jobs at once, StatefulSet scaling and rolling updates with a timeline.
What an image adds (WORKDIR, CMD, VOLUME, users, binaries at the image's paths) comes from a
table the caller passes (`Settings(images=...)`, images.py); host commands the workloads need
are checked with `missing_prerequisites(extra)` / `Runtime(required_tools=...)`.

Typical use:
    rt = Runtime(settings=Settings(images={"app": ImageDefaults(workdir="/data")}))
    cl = rt.cluster("c1")                 # root only; cleans what a crashed run left behind
    cl.apply(load_documents(folder))      # like kubectl apply
    pods = cl.start_statefulset("app")    # pods of a StatefulSet, honouring podManagementPolicy
    result = cl.run_job("app-init-abc12")
    cl.kill_pod(pods[0]); cl.recreate_pod(pods[0].name)
    rollout = cl.apply_update(load_documents(folder2))   # a later render (rollout.py)
    rollout.wait(600); print(rollout.report())
    rt.close()                            # everything gone; logs stay under rt.dir/logs

`python tests/e2e/emulator cleanup` (or `python -m emulator cleanup` from tests/e2e) removes
what killed runs left behind.
"""

from .cluster import Cluster
from .container import Container
from .errors import HarnessError
from .images import IMAGE_PATH, ImageDefaults
from .jobs import JobResult
from .manifests import ManifestError, kustomize_build, load_documents
from .pod import Pod
from .process import ExecResult, wait_until
from .rollout import ApplyError, PodUpdate, Rollout
from .runtime import EMULATOR_TOOLS, Runtime, Settings, missing_prerequisites

__all__ = [
    "ApplyError", "Cluster", "Container", "EMULATOR_TOOLS", "ExecResult", "HarnessError",
    "IMAGE_PATH", "ImageDefaults", "JobResult", "ManifestError", "Pod", "PodUpdate", "Rollout",
    "Runtime", "Settings", "kustomize_build", "load_documents", "missing_prerequisites",
    "wait_until",
]
