"""Parsing what-if options: ``--override 'tool:NAME#N=@file.json'`` and ``--live 'tool:NAME'``."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tracereel.replay._tape import CannotReplay
from tracereel.replay._values import loads_or_text

__all__ = ["parse_faults", "parse_live", "parse_override", "parse_overrides"]

_KINDS = ("tool", "llm", "agent")


def _target(text: str, what: str) -> tuple[str, str, int | None]:
    kind, sep, rest = text.strip().partition(":")
    if not sep or kind not in _KINDS or not rest:
        raise CannotReplay(f"{what} {text!r}: expected tool:NAME, llm:MODEL or agent:NAME (optionally #N)")
    number: int | None = None
    if "#" in rest:
        rest, _, raw = rest.rpartition("#")
        try:
            number = int(raw)
        except ValueError:
            raise CannotReplay(f"{what} {text!r}: #{raw} is not a call number (1 = the first call)") from None
        if number < 1:
            raise CannotReplay(f"{what} {text!r}: call numbers start at 1")
    return kind, rest, number


def parse_override(text: str) -> tuple[tuple[str, str, int | None], Any]:
    """``tool:NAME#N=VALUE``: VALUE is JSON (text that is not JSON is a string) or ``@file.json``."""
    target, sep, raw = text.partition("=")
    if not sep:
        raise CannotReplay(f"override {text!r}: expected KIND:NAME[#N]=VALUE or KIND:NAME[#N]=@file.json")
    key = _target(target, "override")
    if key[0] == "agent":
        raise CannotReplay(f"override {text!r}: only tool and llm results can be overridden")
    if raw.startswith("@"):
        path = Path(raw[1:])
        try:
            content = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise CannotReplay(f"override {text!r}: cannot read {path}: {exc.strerror or exc}") from None
        try:
            return key, json.loads(content)
        except ValueError as exc:
            raise CannotReplay(f"override {text!r}: {path} is not JSON ({exc})") from None
    return key, loads_or_text(raw)


def parse_overrides(texts: Iterable[str]) -> dict[tuple[str, str, int | None], Any]:
    """Every ``--override`` option, keyed by (kind, name, call number or None for all calls)."""
    return dict(parse_override(t) for t in texts)


def parse_faults(faults: Mapping[str, str]) -> dict[tuple[str, str], str]:
    """``{"tool:NAME": "timeout" | "error"}`` (a case's ``faults:``) as ``{(kind, name): fault}``."""
    out: dict[tuple[str, str], str] = {}
    for target, fault in faults.items():
        kind, name, number = _target(target, "fault")
        if kind == "agent" or number is not None:
            raise CannotReplay(f"fault {target!r}: name a tool or an llm boundary (tool:NAME, llm:MODEL)")
        if fault not in ("timeout", "error"):
            raise CannotReplay(f"fault {target}={fault!r}: expected timeout or error")
        out[(kind, name)] = fault
    return out


def parse_live(texts: Iterable[str]) -> frozenset[tuple[str, str]]:
    """Every ``--live`` option as (kind, name); ``llm:*`` (or ``tool:*``) makes every such boundary live."""
    out: set[tuple[str, str]] = set()
    for text in texts:
        kind, name, number = _target(text, "--live")
        if number is not None:
            raise CannotReplay(f"--live {text!r}: name a boundary, not one call (drop #{number})")
        out.add((kind, name))
    return frozenset(out)
