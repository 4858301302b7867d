"""Helpers of .ci/judges.sh that are easier to get right in Python than in bash.

Runs under the judges' venv (.venv-judges), so PyYAML (a pinned dependency of checkov and
kubernetes-validate) is available; tomllib is in the standard library since 3.11.

Every subcommand prints what it found and exits 0 for "pass", 1 for "fail", 2 for "could not
tell" (bad input); judges.sh treats anything but 0 as a failed gate.

    profile-info PROFILE.toml              password-env name and whether the image is pinned
    k8s-versions                           major.minor versions whose schemas are shipped
    count-docs FILE...                     number of non-empty YAML documents
    checkov-verdict REPORT.json ALLOWED    gate 3 decision (ALLOWED: comma-separated ids or "")
    same-objects STDOUT.yaml BUILD.yaml    stdout form == `kubectl kustomize` of the folder form
    check-overlay BASE.yaml OUT.yaml DIR   the overlay fixture did what it says, and nothing else
"""

from __future__ import annotations

import json
import re
import sys
import tomllib
from pathlib import Path

import yaml


def load_docs(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def obj_key(d: dict) -> tuple[str, str, str, str]:
    md = d.get("metadata") or {}
    return (d.get("apiVersion", "?"), d.get("kind", "?"), md.get("namespace", ""), md.get("name", "?"))


def fmt_key(k: tuple[str, str, str, str]) -> str:
    api, kind, ns, name = k
    return f"{kind} {ns + '/' if ns else ''}{name} ({api})"


# --------------------------------------------------------------------------------------------
def profile_info(path: str) -> int:
    """Print `password_env=NAME` and `image_pinned=true|false`.

    The image-digest exception of gate 3 is derived from here, explicitly: a profile whose
    image reference carries no `@sha256:` digest has chosen to run a mutable tag, so CKV_K8S_43
    ("Image should use digest") cannot pass for it and is the one failure tolerated. When the
    reference cannot be found the profile counts as pinned, i.e. no exception at all.
    """
    with open(path, "rb") as f:
        prof = tomllib.load(f)
    auth = prof.get("auth") or {}
    env = auth.get("password-env", "") if isinstance(auth, dict) else ""
    if env and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", env):
        print(f"password-env {env!r} is not a valid environment variable name", file=sys.stderr)
        return 2
    image = prof.get("image")
    ref = image.get("reference") if isinstance(image, dict) else image
    pinned = not isinstance(ref, str) or "@sha256:" in ref
    print(f"password_env={env}")
    print(f"image_pinned={'true' if pinned else 'false'}")
    return 0


def k8s_versions() -> int:
    import kubernetes_validate.utils as kv  # only here: the other subcommands don't need it

    # all_versions() lists full versions ("1.29.0"); gate 1 asks for major.minor.
    seen: list[str] = []
    for v in kv.all_versions():
        mm = ".".join(v.split(".")[:2])
        if mm not in seen:
            seen.append(mm)
    print("\n".join(seen))
    return 0


def count_docs(paths: list[str]) -> int:
    print(sum(len(load_docs(p)) for p in paths))
    return 0


# --------------------------------------------------------------------------------------------
def checkov_verdict(report: str, allowed_csv: str) -> int:
    """Zero failed checks, zero skipped checks, zero parsing errors, at least one resource.

    `allowed_csv` lists the only check ids whose failures are tolerated (see profile_info).
    Skipped checks fail too: checkov honours `checkov.io/skip*` annotations inside manifests,
    and a renderer that wrote one would be hiding a finding from this gate.
    """
    allowed = {a for a in allowed_csv.split(",") if a}
    text = Path(report).read_text(encoding="utf-8").strip()
    if not text:
        print("checkov wrote no report")
        return 2
    data = json.loads(text)
    # One framework gives one object; several give a list. An empty scan gives a bare summary.
    reports = data if isinstance(data, list) else [data]
    failed, skipped, tolerated = [], [], []
    resources = parsing_errors = 0
    for rep in reports:
        summary = rep.get("summary", {})
        resources += int(summary.get("resource_count", 0))
        parsing_errors += int(summary.get("parsing_errors", 0))
        results = rep.get("results", {})
        for c in results.get("failed_checks", []):
            (tolerated if c["check_id"] in allowed else failed).append(c)
        skipped.extend(results.get("skipped_checks", []))
    ok = True

    def line(c: dict) -> str:
        rng = c.get("file_line_range") or []
        where = f"{Path(c.get('file_path', '?')).name}:{'-'.join(map(str, rng))}"
        res = c.get("resource", "?")
        if len(res) > 90:  # graph checks name a Pod by all its labels: keep kind.namespace.name
            res = res[:87] + "..."
        return f"  {c['check_id']}  {res}  [{where}]  {c.get('check_name', '')}"

    if resources == 0:
        print("checkov scanned no Kubernetes resource at all")
        ok = False
    if parsing_errors:
        print(f"checkov could not parse {parsing_errors} file(s)")
        ok = False
    if failed:
        print(f"{len(failed)} failed check(s):")
        print("\n".join(line(c) for c in failed))
        ok = False
    if skipped:
        print(f"{len(skipped)} skipped check(s) (suppressions are not allowed):")
        print("\n".join(line(c) for c in skipped))
        ok = False
    if tolerated:
        ids = ",".join(sorted({c["check_id"] for c in tolerated}))
        print(f"note: tolerated {len(tolerated)} failure(s) of {ids}: the profile leaves the image unpinned")
    print(f"checkov: {resources} resources, {len(failed)} failed, {len(skipped)} skipped, "
          f"{len(tolerated)} tolerated")
    return 0 if ok else 1


# --------------------------------------------------------------------------------------------
def same_objects(stdout_yaml: str, build_yaml: str) -> int:
    """The folder form, built by kustomize, must hold exactly the stdout form's objects.

    Catches a file that the kustomization.yaml forgets to list (kubectl apply -k would silently
    skip it), a duplicate, and any drift between the two output paths of the renderer.
    """
    a = {obj_key(d): d for d in load_docs(stdout_yaml)}
    b = {obj_key(d): d for d in load_docs(build_yaml)}
    ok = True
    for k in sorted(a.keys() - b.keys()):
        print(f"only in the stdout form: {fmt_key(k)}")
        ok = False
    for k in sorted(b.keys() - a.keys()):
        print(f"only in the folder form: {fmt_key(k)}")
        ok = False
    for k in sorted(a.keys() & b.keys()):
        if a[k] != b[k]:
            print(f"differs between the forms: {fmt_key(k)}")
            ok = False
    if ok:
        print(f"folder form == stdout form: {len(a)} objects")
    return 0 if ok else 1


# --------------------------------------------------------------------------------------------
SELECTOR_PATHS = {
    # kind -> paths (inside the object) of label selectors and pod-template labels that the
    # overlay must leave alone. StatefulSet spec.selector is immutable, a Job's pod template is
    # immutable, and a changed Service/PDB/NetworkPolicy selector silently selects other pods.
    "StatefulSet": [("spec", "selector"), ("spec", "template", "metadata", "labels"),
                    ("spec", "volumeClaimTemplates")],
    "Job": [("spec", "selector"), ("spec", "template", "metadata", "labels")],
    "Service": [("spec", "selector")],
    "PodDisruptionBudget": [("spec", "selector")],
    "NetworkPolicy": [("spec", "podSelector"), ("spec", "ingress"), ("spec", "egress")],
}


def dig(d, path):
    for p in path:
        if not isinstance(d, dict):
            return None
        d = d.get(p)
    return d


def check_overlay(base_yaml: str, out_yaml: str, overlay_dir: str) -> int:
    """Assert the overlay fixture's three changes landed, and that nothing else moved.

    Expectations are read from the fixture itself (namespace, label pairs, patched container
    resources), so editing the fixture cannot make this check stale.
    """
    kust = yaml.safe_load(Path(overlay_dir, "kustomization.yaml").read_text(encoding="utf-8"))
    new_ns = kust["namespace"]
    pairs: dict[str, str] = {}
    for entry in kust.get("labels", []):
        pairs.update(entry.get("pairs", {}))
    # The StatefulSet patch: container name -> resources it must end up with.
    want_resources: dict[str, dict] = {}
    for p in kust.get("patches", []):
        if (p.get("target") or {}).get("kind") == "StatefulSet" and "path" in p:
            patch = yaml.safe_load(Path(overlay_dir, p["path"]).read_text(encoding="utf-8"))
            for c in dig(patch, ("spec", "template", "spec", "containers")) or []:
                want_resources[c["name"]] = c["resources"]

    base = load_docs(base_yaml)
    out = load_docs(out_yaml)
    # Match objects by kind + name: the namespace is the thing that changes.
    base_by = {(d["kind"], d["metadata"]["name"]): d for d in base}
    out_by = {(d["kind"], d["metadata"]["name"]): d for d in out}
    errors: list[str] = []
    if base_by.keys() != out_by.keys():
        errors.append(f"object set changed: lost {sorted(base_by.keys() - out_by.keys())}, "
                      f"gained {sorted(out_by.keys() - base_by.keys())}")
    old_namespaces = {d["metadata"].get("namespace") for d in base} - {None, new_ns}
    saw_sts = False
    for key, o in sorted(out_by.items()):
        b = base_by.get(key)
        if b is None:
            continue
        kind, name = key
        ns = o["metadata"].get("namespace")
        if "namespace" in b["metadata"] and ns != new_ns:
            errors.append(f"{kind} {name}: namespace {ns!r}, want {new_ns!r}")
        if "namespace" not in b["metadata"] and ns is not None:
            errors.append(f"{kind} {name}: cluster-scoped object got namespace {ns!r}")
        labels = o["metadata"].get("labels") or {}
        for k, v in pairs.items():
            if labels.get(k) != v:
                errors.append(f"{kind} {name}: label {k}={v} missing")
        for path in SELECTOR_PATHS.get(kind, []):
            if dig(o, path) != dig(b, path):
                errors.append(f"{kind} {name}: {'.'.join(path)} changed (selectors must not move)")
        if kind == "PersistentVolume" and dig(o, ("spec", "claimRef")) is not None:
            # kustomize's namespace transformer does not follow PV claimRefs: the fixture patches
            # them, and this proves the patch still matches what the renderer writes.
            if dig(o, ("spec", "claimRef", "namespace")) != new_ns:
                errors.append(f"PersistentVolume {name}: claimRef.namespace is "
                              f"{dig(o, ('spec', 'claimRef', 'namespace'))!r}, want {new_ns!r}")
        if kind == "StatefulSet":
            saw_sts = True
            bc = dig(b, ("spec", "template", "spec", "containers")) or []
            oc = dig(o, ("spec", "template", "spec", "containers")) or []
            if len(bc) != len(oc):
                # A strategic-merge patch naming a container that does not exist appends a new,
                # broken container instead of failing: catch that here.
                errors.append(f"StatefulSet {name}: {len(bc)} containers became {len(oc)} "
                              f"(the patch names a container the renderer does not write?)")
            got = {c["name"]: c.get("resources") for c in oc}
            for cname, res in want_resources.items():
                if got.get(cname) != res:
                    errors.append(f"StatefulSet {name}: container {cname!r} resources are "
                                  f"{got.get(cname)!r}, want {res!r}")
    if not saw_sts:
        errors.append("no StatefulSet in the build: the resources patch tested nothing")
    # A namespace baked into script text (e.g. `redis-0.redis-headless.prod.svc`) survives the
    # namespace change and points at the old namespace; scripts must use $POD_NAMESPACE.
    text = Path(out_yaml).read_text(encoding="utf-8")
    for old in sorted(old_namespaces):
        hits = [ln.strip() for ln in text.splitlines() if f".{old}.svc" in ln]
        for h in hits[:5]:
            errors.append(f"old namespace {old!r} baked into text: {h}")
    if errors:
        print("\n".join(errors))
        return 1
    print(f"overlay ok: {len(out_by)} objects in namespace {new_ns!r}, labels {pairs}, "
          f"resources of {sorted(want_resources)} patched, selectors untouched")
    return 0


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, args = argv[0], argv[1:]
    try:
        if cmd == "profile-info" and len(args) == 1:
            return profile_info(args[0])
        if cmd == "k8s-versions" and not args:
            return k8s_versions()
        if cmd == "count-docs" and args:
            return count_docs(args)
        if cmd == "checkov-verdict" and len(args) == 2:
            return checkov_verdict(*args)
        if cmd == "same-objects" and len(args) == 2:
            return same_objects(*args)
        if cmd == "check-overlay" and len(args) == 3:
            return check_overlay(*args)
    except (OSError, ValueError, KeyError, TypeError, yaml.YAMLError, tomllib.TOMLDecodeError) as e:
        print(f"{cmd}: {type(e).__name__}: {e}")
        return 2
    print(f"usage error: {cmd} {args}\n{__doc__}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
