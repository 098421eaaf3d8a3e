"""The ``tracereel`` command line: one entry point, one module per command, each loaded when it runs."""

from __future__ import annotations

import importlib
import textwrap
from typing import Final

import click

__all__ = ["COMMANDS", "LazyGroup", "main"]

# Command name -> (module in tracereel.cli exporting ``command``, the one-line help ``--help`` shows).
# The help is written here so that ``tracereel --help`` imports no command module (click's documented
# LazyGroup pattern); tests/test_cli_lazy.py checks that each line is the command's own first line.
COMMANDS: Final[dict[str, tuple[str, str]]] = {
    "audit": ("audit", "List admin actions, newest first: keys created and revoked, data deleted, switches flipped."),
    "clusters": (
        "clusters",
        "List failing tasks grouped by what failed, then by what they said: id, size, trend, signature, terms.",
    ),
    "dashboard": (
        "dashboard",
        "Serve the dashboard (Overview, Traces, Evaluations, Failures, Review, ...) on http://HOST:PORT.",
    ),
    "dataset": ("dataset", "Golden sets: cases made from recorded runs, reviewed like code (see docs/evals.md)."),
    "delete": (
        "delete",
        "Delete TRACE_ID: its spans, its trace-id lookup row and its rollup rows, so metrics no longer count it.",
    ),
    "demo": ("demo", "Run the demo agent system (a supervisor and its specialists, offline) and send its traces."),
    "eval": (
        "eval",
        "Run the golden set FILE: every case replayed against its recorded tool results (or live), scored and gated.",
    ),
    "evaluator": (
        "evaluator",
        "Run the online rules' scorers on finished, sampled traces and post their scores (docs/online.md).",
    ),
    "export": (
        "export",
        "Export TRACE_ID from the collector as a JSON file to replay later or attach to a bug report.",
    ),
    "gate": (
        "gate",
        "Compare the CANARY version of an agent with the BASELINE over the last --window, with statistics.",
    ),
    "keys": ("keys", "Create, list and revoke API keys (an admin key in TRACEREEL_API_KEY)."),
    "kill": (
        "kill",
        "Kill AGENT: calls to it raise tracereel.AgentDisabled (or return its fallback=) without running.",
    ),
    "monitor": (
        "monitor",
        "Monitors: the collector evaluates each one every --monitor-interval seconds and notifies when it fires "
        "and when it resolves (docs/monitors.md).",
    ),
    "online": (
        "online",
        "Online evaluation: rules whose scorers `tracereel evaluator` runs on sampled production traces "
        "(docs/online.md).",
    ),
    "replay": (
        "replay",
        "Replay TRACE_ID: call the recorded entry point with the recorded input, serving every tool and LLM call "
        "from the recording.",
    ),
    "review": (
        "review",
        "Review queues: traces an expression picks (negative feedback, low scores, errors) wait for a person's "
        "verdict (docs/review.md).",
    ),
    "revive": ("revive", "Revive AGENT, killed with `tracereel kill` and these same options."),
    "schema": (
        "schema",
        "Print every statement the collector runs on an empty database, in order, each ending with ';'.",
    ),
    "serve": ("serve", "Run the collector: OTLP/HTTP on :4318 (and the read API), OTLP/gRPC on :4317."),
    "show": ("show", "Print TRACE_ID as a tree: spans with durations, statuses and short inputs/outputs."),
    "switches": ("switches", "List the killed agents this key can see (its team's and every team's switches)."),
    "traces": ("traces", "List the newest traces: id, start, agent, version, status, duration, steps, tokens, cost."),
    "up": ("up", "Run tracereel on this machine: the collector on 127.0.0.1, the dashboard, and the demo if asked."),
}


class LazyGroup(click.Group):
    """A group whose commands are imported only when one of them runs (or its own ``--help`` is asked for)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command name, without importing any command."""
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command ``cmd_name``, importing its module now; None for an unknown name."""
        if cmd_name in self.commands or cmd_name not in COMMANDS:
            return super().get_command(ctx, cmd_name)
        command = importlib.import_module(f"tracereel.cli.{COMMANDS[cmd_name][0]}").command
        if not isinstance(command, click.Command):
            raise TypeError(f"tracereel.cli.{COMMANDS[cmd_name][0]}.command is not a click command")
        self.add_command(command, cmd_name)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of ``--help``, from the table above (loading every command would defeat the point)."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = [(name, textwrap.shorten(COMMANDS[name][1], limit, placeholder="...")) for name in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tracereel")
def main() -> None:
    """tracereel: traces, metrics and deterministic replay for AI agents."""
