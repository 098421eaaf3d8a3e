"""What the tests share: ports that cannot race, waits on conditions, servers in threads, a clean environment.

Waits poll a condition; their deadline is only an upper bound that turns a hang into a failure
saying what never happened, never a measure of how fast something should be. Ports come from
two places, chosen so that nothing else on the machine can take a port between our choosing
it and a server binding it:

* a server in this process listens on a socket bound here first (:func:`bound_socket`), with
  the kernel picking a free port, and uvicorn is handed that socket;
* a server in another process (``tracereel serve``, ``dashboard``, ``up``) gets a port from
  :func:`claim_port`: one outside the kernel's ephemeral range (which the kernel never hands
  out by itself), claimed with an exclusive lock file for the life of this test process, so no
  other test process picks it too, and checked free by binding it.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import fcntl
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar

__all__ = [
    "DEADLINE",
    "ENV_PREFIXES",
    "SUITE_SWITCHES",
    "ThreadedServer",
    "assert_running",
    "bearer",
    "bound_socket",
    "claim_port",
    "clean_env",
    "closed_port",
    "collector_over",
    "describe_processes",
    "http_ok",
    "listening_addresses",
    "migrated_store",
    "serve_in_thread",
    "session_processes",
    "wait_healthy",
    "wait_http",
    "wait_until",
]

T = TypeVar("T")

# Long enough that a loaded machine (the suite must pass with a core kept busy) never reaches
# it; it only stops a wait that would otherwise hang until pytest-timeout kills the whole run.
DEADLINE = 120.0

# The developer's settings for tracereel and OpenTelemetry must not leak into a test.
# Settings the SDK reads (OPENAI_* are the judge's fallbacks): never the developer's in a test.
ENV_PREFIXES = ("TRACEREEL_", "OTEL_", "OPENAI_")
# Switches of the test suite itself, not settings of tracereel: tests read them, nothing else does.
SUITE_SWITCHES = frozenset({"TRACEREEL_UPDATE_SCREENSHOTS"})


def bearer(key: str) -> dict[str, str]:
    """The request headers that present API key ``key`` to the collector."""
    return {"authorization": f"Bearer {key}"}


def wait_until(
    condition: Callable[[], T],
    what: str,
    timeout: float = DEADLINE,
    interval: float = 0.05,
    state: Callable[[], object] | None = None,
) -> T:
    """Poll ``condition`` until it returns something truthy, and return that.

    ``what`` names the awaited event for the failure message, and ``state`` (if given) says
    how things stood when the wait gave up. The condition may raise AssertionError to stop
    the wait early (e.g. when the process it waits on has exited).
    """
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            detail = f"; {state()}" if state is not None else ""
            raise AssertionError(f"gave up after {timeout:g} s waiting for {what}{detail}")
        time.sleep(interval)


def assert_running(process: subprocess.Popen[Any]) -> None:
    """Fail with the process's exit status if it has exited (a wait on it would never end)."""
    if process.poll() is not None:
        raise AssertionError(f"{process.args} exited with status {process.returncode}")


def http_ok(url: str) -> bool:
    """Whether a GET of ``url`` answers 200 now."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def wait_http(url: str, process: subprocess.Popen[Any] | None = None, timeout: float = DEADLINE) -> None:
    """Wait until ``url`` answers 200; fail early if ``process`` (the server) exits."""

    def answers() -> bool:
        if process is not None:
            assert_running(process)
        return http_ok(url)

    wait_until(answers, f"{url} to answer 200", timeout)


def wait_healthy(url: str, process: subprocess.Popen[Any] | None = None, timeout: float = DEADLINE) -> None:
    """Wait until the collector at ``url`` answers /healthz; fail early if ``process`` exits."""
    wait_http(f"{url}/healthz", process, timeout)


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any TRACEREEL_* or OTEL_* variable, plus ``extra``.

    For subprocesses: they see only the settings the test gives them. A collector started with
    it serves no OTLP/gRPC unless the test sets TRACEREEL_GRPC_PORT: port 4317 is one per machine.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIXES)}
    env["TRACEREEL_GRPC_PORT"] = "0"
    env.update(extra)
    return env


# --- ports -----------------------------------------------------------------------------------


def bound_socket(host: str = "127.0.0.1") -> socket.socket:
    """A TCP socket bound to a port the kernel picks, for a server in this process to listen on.

    The socket keeps the port from the moment it is chosen, so no other process can take it
    before the server starts (as it could between closing a probe socket and binding again).
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((host, 0))
    return sock


@contextlib.contextmanager
def closed_port() -> Iterator[int]:
    """A port on 127.0.0.1 that refuses connections while the block runs.

    Bound by this process and never listened on: a connection is refused, and no other
    process can start listening there meanwhile.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


_PORT_LOCKS = Path(tempfile.gettempdir()) / "tracereel-test-ports"
_held: list[IO[str]] = []  # the lock files of the ports this process claimed; released when it exits
_claim_lock = threading.Lock()


def _claimable_ports() -> list[int]:
    """Ports the kernel never picks by itself: below its ephemeral range (or above it)."""
    low, high = (int(n) for n in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    # From 20000 up: clear of the well-known ports developers run things on (4318, 8123, 8501, ...).
    ports = [*range(20000, low), *range(max(high + 1, 20000), 65536)]
    if not ports:
        raise RuntimeError(f"the ephemeral port range {low}-{high} leaves no port for the tests to claim")
    return ports


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As a server does: a connection in TIME_WAIT from an earlier run does not keep it off the port.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("0.0.0.0", port))  # any address: also refuses a port a server holds on 127.0.0.1 only
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
        return True


def claim_port() -> int:
    """A free port for a server in another process, claimed until this test process exits.

    Different on every call and in every test process on the machine (an exclusive lock file
    per port), outside the kernel's ephemeral range, and free when returned (checked by binding).
    """
    ports = _claimable_ports()
    with _claim_lock:
        _PORT_LOCKS.mkdir(exist_ok=True)
        # Processes start looking at different places, so they rarely contend for the same locks.
        start = os.getpid() * 31 + len(_held) * 7
        for i in range(len(ports)):
            port = ports[(start + i) % len(ports)]
            try:
                lock = open(_PORT_LOCKS / f"{port}.lock", "a")  # held open: the lock lasts while it is
            except PermissionError:
                continue  # another user's claim
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lock.close()
                continue
            if not _bindable(port):
                lock.close()
                continue
            _held.append(lock)
            return port
    raise RuntimeError(f"no port left to claim in {ports[0]}-{ports[-1]}")


def listening_addresses(port: int) -> set[str]:
    """The local addresses on which some process listens on TCP ``port``, from /proc/net/tcp{,6}."""
    found: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state != "0A" or int(hex_port, 16) != port:  # 0A: TCP_LISTEN
                continue
            # The kernel prints the address as native-endian 32-bit words.
            raw = b"".join(int(address[i : i + 8], 16).to_bytes(4, "little") for i in range(0, len(address), 8))
            family = socket.AF_INET if len(raw) == 4 else socket.AF_INET6
            found.add(socket.inet_ntop(family, raw))
    return found


# --- stores ----------------------------------------------------------------------------------

_template: Path | None = None
_template_lock = threading.Lock()


def _store_template() -> Path:
    """This process's migrated chDB store to copy, made on first use and removed when it exits.

    Made by another process: chDB opens one store per process, and a test may hold its own.
    """
    global _template
    with _template_lock:
        if _template is None:
            parent = Path(tempfile.mkdtemp(prefix="tracereel-test-store-"))
            atexit.register(shutil.rmtree, parent, ignore_errors=True)
            made = parent / "store"
            code = f"from tracereel.collector import Store; Store.open({f'chdb://{made}'!r}).close()"
            subprocess.run([sys.executable, "-c", code], env=clean_env(), check=True, timeout=DEADLINE)
            _template = made
        return _template


def migrated_store(directory: Path) -> str:
    """The URL of a new chDB store in ``directory`` (new, or empty) with every migration applied.

    A copy of one store migrated once per test process: migrating a new store runs about 90
    DDL statements (seconds on a loaded machine, before each test that uses one), a copy takes
    milliseconds, and ``Store.open`` then finds every migration recorded. The tests of the
    migrations themselves open empty directories instead.
    """
    if directory.exists() and any(directory.iterdir()):
        raise ValueError(f"{directory} is not empty: a store copied over another would mix the two")
    # symlinks=True: the database's table links are relative, into the copy's own store/.
    shutil.copytree(_store_template(), directory, symlinks=True, dirs_exist_ok=True)
    return f"chdb://{directory}"


def store_before(directory: Path, migration: str) -> Any:
    """A raw chDB client on a new store in ``directory`` with every migration before ``migration`` (a name's
    number, like ``"0023"``) applied and recorded: a store as an older collector left it, for the tests of a
    migration. Close it before ``Store.open`` migrates the rest."""
    import clickhouse_connect

    from tracereel.collector.store import MIGRATIONS, MIGRATIONS_TABLE
    from tracereel.collector.store.migrations import MIGRATIONS_TABLE_DDL

    raw = clickhouse_connect.get_client(dsn=f"chdb://{directory}")
    raw.command(MIGRATIONS_TABLE_DDL)
    for name, statements in MIGRATIONS:
        if name >= migration:
            continue
        for statement in statements:
            raw.command(statement)
        raw.insert(MIGRATIONS_TABLE, [[name]], column_names=["name"])
    return raw


# --- servers in this process -----------------------------------------------------------------


@dataclass
class ThreadedServer:
    """A uvicorn server running in a thread of this process."""

    url: str
    server: Any
    thread: threading.Thread

    def stop(self) -> None:
        """Ask the server to exit and wait for it; fail if it does not."""
        self.server.should_exit = True
        self.thread.join(DEADLINE)
        assert not self.thread.is_alive(), f"the server at {self.url} did not stop"


def serve_in_thread(app: Any, sock: socket.socket) -> ThreadedServer:
    """Serve ``app`` with uvicorn on ``sock`` (from :func:`bound_socket`) in a thread; return once it listens."""
    import uvicorn

    host, port = sock.getsockname()[:2]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()

    def started() -> bool:
        assert thread.is_alive() or server.started, "uvicorn exited before it started"
        return bool(server.started)

    wait_until(started, "uvicorn to start")
    return ThreadedServer(f"http://{host}:{port}", server, thread)


@contextlib.contextmanager
def collector_over(store_dir: Path | str) -> Iterator[tuple[str, Any]]:
    """A collector (uvicorn on 127.0.0.1, a new migrated embedded store in ``store_dir``) for a block.

    Yields its URL and app; stops the server and closes the store afterwards (one process may
    open a chDB directory at a time).
    """
    from tracereel.collector import CollectorSettings, Store, create_app

    store = Store.open(migrated_store(Path(store_dir)))
    sock = bound_socket()
    port = sock.getsockname()[1]
    app = create_app(CollectorSettings(host="127.0.0.1", port=port, store=store.url, grpc_port=0), store)
    served = serve_in_thread(app, sock)
    try:
        yield served.url, app
    finally:
        served.stop()
        store.close()


# --- processes -------------------------------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (field 3, the state, comes first)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return raw[raw.rindex(")") + 2 :].split()  # the name may hold spaces and parentheses


def session_processes(sid: int) -> set[int]:
    """The running processes (zombies excluded) of session ``sid``.

    A process started with ``start_new_session=True`` leads a session of its own, which every
    process it starts (and they start) joins and stays in after it dies: unlike its children,
    they cannot be missed because they were started late, or lost to being reparented.
    """
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None:
            state, session = fields[0], int(fields[3])
            if session == sid and state not in "ZX":
                found.add(int(entry.name))
    return found


def describe_processes(pids: set[int]) -> str:
    """``pid: command line`` for each of ``pids``, for failure messages."""
    lines = []
    for pid in sorted(pids):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            cmdline = "(gone)"
        lines.append(f"{pid}: {cmdline.strip()}")
    return "\n".join(lines)


def latest_trace(url: str, agent_name: str, since: float) -> str:
    """Flush the SDK, then the id of the newest trace of ``agent_name`` started after ``since`` at ``url``."""
    import tracereel
    from tracereel.replay import list_traces

    assert tracereel.flush(DEADLINE), "the SDK could not export the recording"
    found = wait_until(
        lambda: list_traces(url, since=str(since), agent=agent_name, limit=1),
        f"a trace of {agent_name} to reach the collector",
    )
    return str(found[0]["trace_id"])
