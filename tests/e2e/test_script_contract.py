"""script_contract.py on small inline scripts (no root, no emulator, no redkube binary)."""

from __future__ import annotations

import pytest

from emulator.manifests import ManifestError
from script_contract import ENTRY_LINE, budget_seconds, disable_step


def cm(name: str, **data: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


START = f"""#!/bin/sh
set -eu
SELF_FORM_WAIT_SECONDS=30
EMPTY_MASTER_WAIT_SECONDS=45
repair_ips() {{
  echo repairing
}}
main() {{
  repair_ips
  exec redis-server /etc/redis/redis.conf
}}
{ENTRY_LINE}
"""
PROBE = f"""#!/bin/sh
SELF_FORM_WAIT_SECONDS=30
check() {{ redis-cli ping; }}
main() {{ check; }}
{ENTRY_LINE}

"""
OBJECTS = [
    {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "x"},
     "spec": {"note": "SELF_FORM_WAIT_SECONDS=99"}},
    cm("scripts", **{"start.sh": START, "probe.sh": PROBE}),
    cm("config", **{"redis.conf": "port 6379\n"}),
]


class Release:
    """Stands in for render.Rendered: anything with objects()."""

    def objects(self) -> list[dict]:
        return OBJECTS


def test_budget_read_from_its_own_line():
    assert budget_seconds(OBJECTS, "SELF_FORM_WAIT_SECONDS") == 30  # twice, same value
    assert budget_seconds(OBJECTS, "EMPTY_MASTER_WAIT_SECONDS") == 45
    assert budget_seconds(Release(), "EMPTY_MASTER_WAIT_SECONDS") == 45


def test_budget_only_whole_lines_of_configmaps():
    objects = [cm("s", **{"a.sh": "  WAIT_SECONDS=5\nX_WAIT_SECONDS=6\nWAIT_SECONDS=7s\n"
                                  "WAIT_SECONDS=$((1 + 2))\nlocal WAIT_SECONDS=8\n"}),
               OBJECTS[0]]
    with pytest.raises(ManifestError, match="no ConfigMap script has a line `WAIT_SECONDS="):
        budget_seconds(objects, "WAIT_SECONDS")


def test_budget_absent_or_ambiguous():
    with pytest.raises(ManifestError, match="NO_SUCH_SECONDS"):
        budget_seconds(OBJECTS, "NO_SUCH_SECONDS")
    clash = OBJECTS + [cm("other", **{"x.sh": "SELF_FORM_WAIT_SECONDS=31\n"})]
    with pytest.raises(ManifestError, match="ambiguous: 30 in .*; 31 in ConfigMap other"):
        budget_seconds(clash, "SELF_FORM_WAIT_SECONDS")


def test_disable_step_redefines_before_the_entry_line():
    out = disable_step(OBJECTS, "repair_ips")
    start = out[1]["data"]["start.sh"]
    lines = start.splitlines()
    assert lines[-2:] == ["repair_ips() { :; }", ENTRY_LINE]
    assert start == START.replace(ENTRY_LINE, "repair_ips() { :; }\n" + ENTRY_LINE)
    assert out[1]["data"]["probe.sh"] == PROBE  # does not define it: untouched
    assert OBJECTS[1]["data"]["start.sh"] == START  # the input is not modified


def test_disable_step_every_defining_script_and_trailing_blank_lines():
    out = disable_step(OBJECTS, "main")
    for key in ("start.sh", "probe.sh"):
        text = out[1]["data"][key]
        body = text.rstrip("\n").splitlines()
        assert body[-2:] == ["main() { :; }", ENTRY_LINE], key
    assert out[1]["data"]["probe.sh"].endswith(f"{ENTRY_LINE}\n\n")  # blank lines kept


def test_disable_step_refuses_what_proves_nothing():
    with pytest.raises(ManifestError, match="no ConfigMap script defines absent_step"):
        disable_step(OBJECTS, "absent_step")
    # "repair_ips_later" must not count as defining repair_ips.
    with pytest.raises(ManifestError, match="defines repair_ips"):
        disable_step([cm("s", **{"a.sh": f"repair_ips_later() {{ :; }}\n{ENTRY_LINE}\n"})],
                     "repair_ips")
    no_entry = [cm("s", **{"a.sh": "repair_ips() { :; }\nmain \"$@\"\n"})]
    with pytest.raises(ManifestError, match="does not end with"):
        disable_step(no_entry, "repair_ips")
