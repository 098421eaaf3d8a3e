"""The ``tracereel`` command line: one entry point, one module per command."""

from __future__ import annotations

import importlib

import click

__all__ = ["main"]

# Each command lives in its own module (``tracereel.cli.<name>``, exporting ``command``);
# heavy imports happen inside the commands, so ``tracereel --help`` stays fast.
COMMAND_MODULES = (
    "serve",
    "up",
    "schema",
    "demo",
    "replay",
    "export",
    "show",
    "delete",
    "dashboard",
    "dataset",
    "eval",
    "keys",
    "audit",
    "gate",
    "kill",
    "revive",
    "switches",
    "monitor",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tracereel")
def main() -> None:
    """tracereel: traces, metrics and deterministic replay for AI agents."""


for _name in COMMAND_MODULES:
    main.add_command(importlib.import_module(f"tracereel.cli.{_name}").command)
