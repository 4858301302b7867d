"""Cluster DNS without a DNS server: the records a cluster DNS would serve, written into every
pod's /etc/hosts (rewritten in place by the Cluster as pods come, go or turn ready), and the
resolv.conf a pod gets."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from .manifests import selector_matches

if TYPE_CHECKING:
    from .pod import Pod


def records(services: Iterable[dict], pods: Iterable[Pod]) -> list[tuple[str, str, str]]:
    """(ip, relative name, namespace) for every name a cluster DNS would serve: headless
    Service names to every endpoint and `hostname.subdomain` pod records, other Service names
    to one Ready endpoint (no kube-proxy here)."""
    out = []
    live = [p for p in pods if p.ip and not p.deleted]
    for svc in services:
        ns, sname = svc["metadata"]["namespace"], svc["metadata"]["name"]
        sspec = svc.get("spec") or {}
        headless = sspec.get("clusterIP") == "None"
        publish_all = bool(sspec.get("publishNotReadyAddresses"))
        members = sorted((p for p in live if p.namespace == ns
                          and selector_matches(sspec.get("selector"), p.labels)),
                         key=lambda p: p.name)
        endpoints = [p for p in members if publish_all or p.ready]
        if headless:
            for p in endpoints:
                out.append((p.ip, sname, ns))
                if p.subdomain == sname and p.hostname:
                    out.append((p.ip, f"{p.hostname}.{sname}", ns))
        elif endpoints:
            # No kube-proxy here: the Service name points at one endpoint.
            out.append((endpoints[0].ip, sname, ns))
    return out


def hosts_file(reader: Pod, recs: list[tuple[str, str, str]], domain: str) -> str:
    """READER's /etc/hosts: the kubelet's own entry, then every record under its full names
    (bare names only within the reader's namespace)."""
    lines = [
        "# Kubernetes-managed hosts file (emulated by tests/e2e/emulator).",
        "127.0.0.1\tlocalhost",
        "::1\tlocalhost ip6-localhost ip6-loopback",
        "fe00::0\tip6-localnet",
        "fe00::1\tip6-allnodes",
        "fe00::2\tip6-allrouters",
    ]
    if reader.subdomain:
        fqdn = f"{reader.hostname}.{reader.subdomain}.{reader.namespace}.svc.{domain}"
        lines.append(f"{reader.ip}\t{fqdn}\t{reader.hostname}")
    else:
        lines.append(f"{reader.ip}\t{reader.hostname}")
    lines.append("# Cluster DNS records (Services, headless pod records).")
    for ip, rel, ns in recs:
        names = [f"{rel}.{ns}.svc.{domain}", f"{rel}.{ns}.svc", f"{rel}.{ns}"]
        if ns == reader.namespace:  # the bare name resolves only through the own search path
            names.append(rel)
        lines.append(f"{ip}\t{' '.join(names)}")
    return "\n".join(lines) + "\n"


def resolv_conf(namespace: str, domain: str) -> str:
    # No nameserver line: lookups of names missing from /etc/hosts fail fast on 127.0.0.1
    # inside the pod's namespace instead of leaving the machine.
    return (f"search {namespace}.svc.{domain} svc.{domain} {domain}\noptions ndots:5 timeout:1 "
            f"attempts:1\n")
