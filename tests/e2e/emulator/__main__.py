"""`python tests/e2e/emulator cleanup` (or `python -m emulator cleanup` from tests/e2e):
remove what runs that died left behind (namespaces, processes, mounts)."""

from __future__ import annotations

import pathlib
import sys

if __package__:
    from . import netns
else:  # run as a folder: make the package importable by its name
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
    from emulator import netns


def main(argv: list[str]) -> int:
    if argv[1:] == ["cleanup"]:
        for line in netns.cleanup_stale_runs():
            print("removed", line)
        return 0
    print("usage: python tests/e2e/emulator cleanup", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
