"""The CLI loads a command's module only when that command runs: ``tracereel --help`` imports none."""

from __future__ import annotations

import json
import subprocess
import sys

import click

from tracereel.cli import COMMANDS, main

# Run in a fresh interpreter: this test process has imported command modules already.
_PROBE = """
import json, sys
from tracereel.cli import main
try:
    main({args!r}, prog_name="tracereel")
except SystemExit as exc:
    code = exc.code
print(json.dumps({{"code": code, "loaded": sorted(m for m in sys.modules if m.startswith("tracereel.cli."))}}))
"""


def _probe(*args: str) -> tuple[str, dict[str, object]]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE.format(args=list(args))], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    *shown, last = done.stdout.strip().splitlines()
    return "\n".join(shown), json.loads(last)


def test_help_lists_every_command_and_imports_no_command_module() -> None:
    shown, result = _probe("--help")
    assert result == {"code": 0, "loaded": []}
    listed = {line.split()[0] for line in shown.split("Commands:")[1].splitlines() if line.strip()}
    assert listed == set(COMMANDS)


def test_a_command_s_help_loads_that_command_and_no_other() -> None:
    _, result = _probe("traces", "--help")
    loaded = result["loaded"]
    assert isinstance(loaded, list)
    assert "tracereel.cli.traces" in loaded
    commands = {f"tracereel.cli.{module}" for module, _ in COMMANDS.values()}
    assert commands & set(loaded) == {"tracereel.cli.traces"}


def test_the_listed_help_is_each_command_s_own_first_line() -> None:
    ctx = click.Context(main)
    for name, (_, listed) in COMMANDS.items():
        command = main.get_command(ctx, name)
        assert command is not None, name
        assert command.name == name
        assert command.get_short_help_str(limit=1000) == listed, name


def test_an_unknown_command_is_a_usage_error() -> None:
    _, result = _probe("no-such-command")
    assert result == {"code": 2, "loaded": []}
