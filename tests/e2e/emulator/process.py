"""Host processes with deadlines: commands run in their own process group and killed whole on
timeout, and polling with a deadline."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import time
from typing import Callable

from .errors import HarnessError


def wait_until(predicate: Callable[[], object], timeout: float, what: str,
               interval: float = 0.5, describe: Callable[[], str] | None = None):
    """Poll PREDICATE until it returns something truthy; raise after TIMEOUT seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            detail = f"\n{describe()}" if describe else ""
            raise HarnessError(f"timed out after {timeout:.0f}s waiting for {what}{detail}")
        time.sleep(interval)


@dataclasses.dataclass
class ExecResult:
    code: int | None  # None: timed out and killed
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.code == 0


def run_with_deadline(argv: list[str], env: dict[str, str], timeout: float,
                      input: str | None = None) -> ExecResult:
    """Run a command in its own process group; on timeout kill the whole group."""
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.PIPE if input else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(input=input, timeout=timeout)
        return ExecResult(proc.returncode, out, err)
    except subprocess.TimeoutExpired:
        killpg(proc.pid, signal.SIGKILL)
        try:
            out, err = proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            out, err = "", ""
        return ExecResult(None, out, err + f"\n(timed out after {timeout:.1f}s)")


def killpg(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass
