"""docker-compose.yml and the Dockerfile, checked without Docker (none runs here).

What can be checked on this machine is checked for real: the files parse, every command they
run is a ``tracereel`` command with options it declares, the environment they set is what the
collector reads, the store URL they build is one the collector accepts (a real ``tracereel
serve`` process is started with it), ports are published on 127.0.0.1 by default, and the
image is built from every folder the distribution maps.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from tests.support import claim_port, clean_env, listening_addresses, wait_healthy, wait_http
from tracereel.cli import main

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10 reads TOML with the tomli backport
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
_PASSWORD = "pw-for-the-test"

pytestmark = pytest.mark.e2e


def _compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?error}``, for the values we use."""

    def one(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if env.get(name):
            return env[name]
        if op == ":-":
            return arg or ""
        raise AssertionError(f"{name} is required: {arg}")

    return re.sub(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}", one, value)


def _check_command(argv: list[str]) -> None:
    """``argv`` is ``tracereel <command> [--option value ...]`` with options the command declares."""
    assert argv[0] == "tracereel"
    command = main.get_command(click.Context(main), argv[1])
    assert command is not None, f"no `tracereel {argv[1]}` command"
    declared = {opt for param in command.params for opt in param.opts}
    for arg in argv[2:]:
        if arg.startswith("--"):
            assert arg.split("=", 1)[0] in declared, f"`tracereel {argv[1]}` has no {arg} option"


def test_compose_has_clickhouse_collector_and_dashboard() -> None:
    services = _compose()["services"]
    assert set(services) == {"clickhouse", "collector", "dashboard"}
    clickhouse = services["clickhouse"]
    assert clickhouse["image"].startswith("clickhouse/clickhouse-server:")
    env = clickhouse["environment"]
    assert env["CLICKHOUSE_DB"] == "tracereel" and env["CLICKHOUSE_USER"] and env["CLICKHOUSE_PASSWORD"]
    assert any(v.endswith(":/var/lib/clickhouse") for v in clickhouse["volumes"])
    assert "ports" not in clickhouse  # only the collector talks to it, over the compose network
    assert clickhouse["healthcheck"]["test"]
    assert services["collector"]["depends_on"]["clickhouse"]["condition"] == "service_healthy"
    assert services["dashboard"]["depends_on"]["collector"]["condition"] == "service_healthy"


def test_published_ports_bind_localhost_by_default() -> None:
    published = [p for s in _compose()["services"].values() for p in s.get("ports", [])]
    assert published
    for port in published:
        assert _interpolate(port, {}).startswith("127.0.0.1:"), port
        assert _interpolate(port, {"TRACEREEL_BIND": "0.0.0.0"}).startswith("0.0.0.0:")


def test_a_password_is_required() -> None:
    store = _compose()["services"]["collector"]["environment"]["TRACEREEL_STORE"]
    try:
        _interpolate(store, {})
    except AssertionError as exc:
        assert "CLICKHOUSE_PASSWORD" in str(exc)
    else:
        raise AssertionError("the store URL has a default password")


def test_collector_command_and_environment_are_what_the_cli_reads() -> None:
    from tracereel.collector.settings import CollectorSettings

    services = _compose()["services"]
    collector = services["collector"]
    _check_command(collector["command"])
    assert collector["command"][1] == "serve" and "0.0.0.0" in collector["command"]
    for name in collector["environment"]:
        assert name.startswith("TRACEREEL_")
        assert name.removeprefix("TRACEREEL_").lower() in CollectorSettings.model_fields, name
    store = _interpolate(collector["environment"]["TRACEREEL_STORE"], {"CLICKHOUSE_PASSWORD": _PASSWORD})
    ch = services["clickhouse"]["environment"]
    assert store == f"http://{ch['CLICKHOUSE_USER']}:{_PASSWORD}@clickhouse:8123/{ch['CLICKHOUSE_DB']}"
    assert CollectorSettings(store=store).store == store
    # The collector's port is the one published and health-checked.
    port = collector["command"][collector["command"].index("--port") + 1]
    assert collector["ports"][0].endswith(f":{port}:{port}")
    assert f":{port}/healthz" in " ".join(collector["healthcheck"]["test"])


def test_collector_command_runs_and_reaches_for_the_server_store(unused_port: int) -> None:
    # The compose command line and environment, with the store host swapped for a closed port
    # here: the real CLI parses all of it and fails only where it opens the ClickHouse server.
    collector = _compose()["services"]["collector"]
    argv = list(collector["command"])
    argv[argv.index("--port") + 1] = str(claim_port())
    closed = unused_port
    store = _interpolate(collector["environment"]["TRACEREEL_STORE"], {"CLICKHOUSE_PASSWORD": _PASSWORD})
    env = clean_env(TRACEREEL_STORE=store.replace("@clickhouse:8123", f"@127.0.0.1:{closed}"))
    done = subprocess.run(
        [sys.executable, "-m", "tracereel", *argv[1:]], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2  # cannot run
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"Error: cannot open the store http://tracereel:***@127.0.0.1:{closed}/tracereel")
    assert _PASSWORD not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr


def test_dockerfile_builds_every_mapped_folder_and_runs_the_collector() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    copies = [shlex.split(line)[1:] for line in dockerfile.splitlines() if line.startswith("COPY ")]
    assert copies == [[".", "./"]], "the image copies the checkout (minus .dockerignore), not a list of folders"
    ignored = set((ROOT / ".dockerignore").read_text().split())
    needed = set(pyproject["tool"]["setuptools"]["package-dir"].values()) | {"pyproject.toml", "README.md", "setup.py"}
    assert not needed & ignored, needed & ignored
    assert {".git", ".venv", "tests"} <= ignored
    install = next(line for line in dockerfile.splitlines() if line.startswith("RUN pip install "))
    extras = set(install.split('".[')[1].split("]")[0].split(","))
    assert extras == {"server", "dashboard", "evals"} <= set(pyproject["project"]["optional-dependencies"])
    cmd = json.loads(next(line for line in dockerfile.splitlines() if line.startswith("CMD "))[4:])
    _check_command(cmd)
    assert "USER tracereel" in dockerfile
    # The compose file builds this image for both tracereel services.
    services = _compose()["services"]
    assert services["collector"]["build"] == services["dashboard"]["build"] == "."


def test_the_built_wheel_holds_every_module_of_every_mapped_folder(tmp_path: Path) -> None:
    # The image (and pip) install a built wheel, not the checkout: a module left out of it (a new
    # subpackage setup.py failed to discover, say) would be missing for users only.
    # Built from a copy of what the image copies: pip builds in the source tree and would leave
    # build/ (an old copy of every module) in the checkout.
    source = tmp_path / "src"
    mapping = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    source.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for folder in set(mapping.values()):
        shutil.copytree(ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__"))
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("tracereel-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    expected = set()
    for package, folder in mapping.items():
        for module in (ROOT / folder).rglob("*.py"):
            if "__pycache__" not in module.parts:
                expected.add("/".join([*package.split("."), *module.relative_to(ROOT / folder).parts]))
    assert expected - shipped == set()
    assert {"tracereel/sdk/py.typed", "tracereel/collector/py.typed"} <= shipped


def test_dashboard_command_is_a_tracereel_command_pointed_at_the_collector() -> None:
    dashboard = _compose()["services"]["dashboard"]
    command = dashboard["command"]
    _check_command(command)
    assert command[command.index("--collector") + 1] == "http://collector:4318"
    assert command[command.index("--host") + 1] == "0.0.0.0"
    port = command[command.index("--port") + 1]
    assert dashboard["ports"][0].endswith(f":{port}:{port}")
    assert "TRACEREEL_API_KEY" in dashboard["environment"]


def _start(argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tracereel", *argv],
        env=clean_env(**(env or {})),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(60)


@pytest.mark.parametrize(("host", "bound"), [("0.0.0.0", "0.0.0.0"), (None, "127.0.0.1")])
def test_dashboard_binds_the_host_it_is_given(host: str | None, bound: str, unused_port: int) -> None:
    # By default only this machine reaches the dashboard; 0.0.0.0 (every address) is what a
    # published container port needs. The kernel's table of listening sockets says which it is.
    port = claim_port()
    argv = ["dashboard", "--collector", f"http://127.0.0.1:{unused_port}", "--port", str(port)]
    dashboard = _start([*argv, "--host", host] if host else argv)
    try:
        wait_http(f"http://127.0.0.1:{port}/_stcore/health", dashboard)
        assert listening_addresses(port) == {bound}
    finally:
        _stop(dashboard)


def test_dashboard_reads_a_collector_that_wants_a_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    port = claim_port()
    url = f"http://127.0.0.1:{port}"
    store = f"chdb://{tmp_path / 'store'}"
    collector = _start(["serve", "--port", str(port)], {"TRACEREEL_API_KEY": "k3y", "TRACEREEL_STORE": store})
    try:
        wait_healthy(url, collector)
        monkeypatch.setenv("TRACEREEL_ENDPOINT", url)
        app = ROOT / "dashboard" / "app.py"
        monkeypatch.delenv("TRACEREEL_API_KEY", raising=False)
        refused = AppTest.from_file(str(app), default_timeout=60).run()
        # A sign-in message, not an error or a traceback.
        assert not refused.exception
        assert any("This collector needs an API key" in w.value for w in refused.warning), [
            w.value for w in refused.warning
        ]
        monkeypatch.setenv("TRACEREEL_API_KEY", "k3y")
        served = AppTest.from_file(str(app), default_timeout=60).run()
        assert not served.exception and not served.error, [e.value for e in served.error]
    finally:
        _stop(collector)
