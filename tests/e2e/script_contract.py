"""What the e2e tests may rely on in the rendered shell scripts (the ConfigMap data of a
rendered release), and nothing more:

1. Every timing budget is a shell assignment on a line of its own, `NAME=<seconds>`
   (e.g. `SELF_FORM_WAIT_SECONDS=30`): `budget_seconds` reads it, so the tests never copy a
   constant of the Rust code or of a template.
2. Every entry script ends with the exact last non-empty line ENTRY_LINE, and its steps are
   shell functions: `disable_step` redefines one as a no-op just before that line, for the
   negative controls (`FUNCTION() { :; }`), instead of cutting marked blocks out.
"""

from __future__ import annotations

import copy
import re
from typing import Iterable

from emulator.manifests import ManifestError, configmap_data

ENTRY_LINE = '[ "${REDKUBE_LIB_ONLY:-}" = 1 ] || main "$@"'
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _objects(release) -> list[dict]:
    """A render.Rendered (anything with objects()) or the objects themselves."""
    return release.objects() if hasattr(release, "objects") else list(release)


def _configmaps(objects: Iterable[dict]) -> list[dict]:
    return [o for o in objects if o.get("kind") == "ConfigMap"]


def _check_name(name: str) -> None:
    if not _NAME.fullmatch(name):
        raise ValueError(f"not a shell name: {name!r}")


def budget_seconds(release, name: str) -> int:
    """The value of the line `NAME=<digits>` in the ConfigMap scripts of RELEASE (a
    render.Rendered or its objects). ManifestError when no script has it, or when scripts
    give it different values."""
    _check_name(name)
    pattern = re.compile(rf"^{re.escape(name)}=(\d+)$", re.M)
    found: dict[int, list[str]] = {}
    for cm in _configmaps(_objects(release)):
        for key, raw in configmap_data(cm).items():
            text = raw.decode(errors="replace")
            for m in pattern.finditer(text):
                found.setdefault(int(m.group(1)), []).append(
                    f"ConfigMap {cm['metadata']['name']} key {key}")
    if not found:
        raise ManifestError(f"no ConfigMap script has a line `{name}=<seconds>`")
    if len(found) > 1:
        where = "; ".join(f"{v} in {', '.join(places)}" for v, places in sorted(found.items()))
        raise ManifestError(f"`{name}` is ambiguous: {where}")
    return next(iter(found))


def _defines(text: str, function: str) -> bool:
    return re.search(rf"^[ \t]*{re.escape(function)}[ \t]*\([ \t]*\)", text, re.M) is not None


def _insert_before_entry(text: str, line: str, where: str) -> str:
    lines = text.splitlines(keepends=True)
    last = next((i for i in range(len(lines) - 1, -1, -1) if lines[i].strip()), None)
    if last is None or lines[last].rstrip("\r\n") != ENTRY_LINE:
        found = lines[last].rstrip("\r\n") if last is not None else "(empty)"
        raise ManifestError(f"{where} does not end with `{ENTRY_LINE}` (last line: {found!r})")
    return "".join(lines[:last]) + line + "\n" + "".join(lines[last:])


def disable_step(objects: Iterable[dict], function: str) -> list[dict]:
    """A copy of OBJECTS in which every ConfigMap script that defines `FUNCTION()` redefines it
    as a no-op (`FUNCTION() { :; }`) on the line just before its last line, ENTRY_LINE, so
    `main` runs without that step. ManifestError when no script defines FUNCTION (the
    negative control would prove nothing) or a script that does lacks ENTRY_LINE."""
    _check_name(function)
    out = copy.deepcopy(list(objects))
    changed = 0
    for cm in _configmaps(out):
        data = cm.get("data") or {}
        for key, text in data.items():
            if not _defines(text, function):
                continue
            where = f"ConfigMap {cm['metadata']['name']} key {key}"
            data[key] = _insert_before_entry(text, f"{function}() {{ :; }}", where)
            changed += 1
    if changed == 0:
        raise ManifestError(f"no ConfigMap script defines {function}(): the negative control "
                            f"would prove nothing")
    return out
