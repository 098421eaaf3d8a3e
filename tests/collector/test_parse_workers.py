"""Parse worker processes exit when the collector process dies, however it dies (SIGKILL, OOM killer).

A real process hosts a real ParsePool and is killed with SIGKILL: once after its workers are
up, and once while they are still starting (the moment a parent-pid check read in the worker
can miss: the worker reads its new parent's pid as its parent and waits for work forever).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support import wait_until

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads process states from /proc")

WORKERS = 2

# Prints the pids of its pool's worker processes on one line, then dies or waits to be killed.
HOST = textwrap.dedent(
    f"""
    import multiprocessing, os, signal, sys, threading, time

    from tracereel.collector.ingest import ParsePool

    pool = ParsePool({WORKERS})
    if sys.argv[1] == "started":
        pool.start()
    else:  # "starting": start them in the background, die as soon as they exist
        threading.Thread(target=pool.start, daemon=True).start()
        while len(multiprocessing.active_children()) < {WORKERS}:
            time.sleep(0.001)
    print(" ".join(str(child.pid) for child in multiprocessing.active_children()), flush=True)
    if sys.argv[1] == "starting":
        os.kill(os.getpid(), signal.SIGKILL)
    sys.stdin.read()  # until the test kills this process
    """
)


def running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie has exited; its reaper just has not collected it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.parametrize("when", ["started", "starting"])
def test_workers_exit_when_their_collector_is_killed(when: str, tmp_path: Path) -> None:
    # A file, not a pipe: the host's children inherit its stderr and may outlive it.
    errors = tmp_path / "host.err"
    with errors.open("w") as err:
        host = subprocess.Popen(
            [sys.executable, "-c", HOST, when], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True
        )
    workers: list[int] = []
    try:
        assert host.stdout is not None
        workers = [int(pid) for pid in host.stdout.readline().split()]
        assert len(workers) == WORKERS, errors.read_text()
        if when == "started":
            assert all(running(pid) for pid in workers)
            host.send_signal(signal.SIGKILL)
        assert host.wait(30) == -signal.SIGKILL
        wait_until(lambda: not any(running(pid) for pid in workers), f"parse workers {workers} exit", timeout=60)
    finally:
        if host.poll() is None:
            host.kill()
            host.wait(30)
        for pid in workers:
            if running(pid):
                os.kill(pid, signal.SIGKILL)  # leave no orphan behind a failed run
