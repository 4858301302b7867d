"""The Job controller: one pod at a time, retried per backoffLimit, bounded by
activeDeadlineSeconds."""

from __future__ import annotations

import dataclasses
import secrets
import time
from typing import TYPE_CHECKING

from .manifests import ManifestError

if TYPE_CHECKING:
    from .cluster import Cluster
    from .pod import Pod


@dataclasses.dataclass
class JobResult:
    name: str
    succeeded: bool
    reason: str
    exit_codes: list[int]
    seconds: float
    logs: str

    def __str__(self) -> str:
        return (f"Job {self.name}: {'succeeded' if self.succeeded else 'FAILED'} ({self.reason}),"
                f" exit codes {self.exit_codes}, {self.seconds:.1f}s\n{self.logs}")


def run_job(cluster: Cluster, name: str, namespace: str | None = None,
            timeout: float | None = None) -> JobResult:
    """Run a Job to completion as the Job controller would: one pod at a time, a new pod
    (restartPolicy Never) or a restarted container (OnFailure) per failure, up to
    backoffLimit; activeDeadlineSeconds (or TIMEOUT, whichever is first) ends it."""
    ns = namespace or cluster.settings.default_namespace
    job = cluster.store.get("Job", ns, name)
    spec = job["spec"]
    if int(spec.get("completions", 1)) != 1 or int(spec.get("parallelism", 1)) != 1:
        raise ManifestError(f"Job {name}: only completions=parallelism=1 is emulated")
    backoff_limit = int(spec.get("backoffLimit", 6))
    limits = [t for t in (spec.get("activeDeadlineSeconds"), timeout) if t is not None]
    deadline_s = float(min(limits)) if limits else 3600.0
    start = time.monotonic()
    deadline = start + deadline_s
    template = spec["template"]
    labels = dict(template.get("metadata", {}).get("labels") or {})
    labels["job-name"] = name
    failures, codes, logs, pod = 0, [], [], None
    reason = ""
    while True:
        pod_name = f"{name[:57]}-{secrets.token_hex(3)[:5]}"
        pod = cluster.start_pod(pod_name, template["spec"], namespace=ns, labels=labels,
                                owner=("Job", name))
        done = _wait_job_pod(pod, deadline, backoff_limit)
        cluster.delete_pod(pod, grace=0)
        codes += pod.exit_codes()
        logs.append(pod.log_text())
        if done == "Succeeded":
            reason = "Complete"
            break
        if done == "deadline":
            reason = f"DeadlineExceeded ({deadline_s:.0f}s)"
            break
        failures += 1
        if done == "restarts" or failures > backoff_limit:
            reason = f"BackoffLimitExceeded ({failures} failed pods)"
            break
        pause = cluster.settings.job_backoff_base * 2 ** (failures - 1)
        if time.monotonic() + pause >= deadline:
            reason = f"DeadlineExceeded ({deadline_s:.0f}s)"
            break
        time.sleep(pause)
    result = JobResult(name, reason == "Complete", reason, codes,
                       time.monotonic() - start, "\n".join(logs))
    cluster.event(f"job {ns}/{name}: {reason}, exit codes {codes}")
    return result


def _wait_job_pod(pod: Pod, deadline: float, backoff_limit: int) -> str:
    """Succeeded, Failed, restarts (OnFailure restarts past backoffLimit) or deadline."""
    while time.monotonic() < deadline:
        if pod.phase in ("Succeeded", "Failed"):
            return pod.phase
        if pod.deleted:  # the cluster is closing
            return "deadline"
        if pod.restart_count() > backoff_limit:
            return "restarts"
        time.sleep(0.2)
    return "deadline"
