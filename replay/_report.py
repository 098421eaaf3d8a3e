"""What a replay found: the first divergence (with a diff and the nearest recorded calls) and the outcome."""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, cast

__all__ = [
    "DIVERGENCE_KINDS",
    "REDACTED",
    "Divergence",
    "ReplayReport",
    "address_text",
    "matches_redacted",
    "pretty",
    "redacted_fields",
    "unified_diff",
]

# What the collector writes in place of a redacted value (collector/control/redaction.py).
REDACTED = "<redacted:"
_MARKER = re.compile(r"<redacted:[A-Za-z0-9_.\-]+>")


def redacted_fields(raw: str | None) -> list[str]:
    """Where recorded JSON (arguments or output) holds redacted values: ``["to", "items[0].card"]``.

    ``$`` when the whole value is text with a marker in it.
    """
    if raw is None or REDACTED not in raw:
        return []
    try:
        data = json.loads(raw)
    except ValueError:
        return ["$"]
    found: list[str] = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, str):
            if REDACTED in node:
                found.append(path or "$")
        elif isinstance(node, dict):
            for key, item in cast(dict[Any, Any], node).items():
                walk(item, f"{path}.{key}" if path else str(key))
        elif isinstance(node, list):
            for i, item in enumerate(cast(list[Any], node)):
                walk(item, f"{path}[{i}]")

    walk(data, "")
    return found


def _same_but_redacted(recorded: Any, actual: Any) -> bool:
    if isinstance(recorded, str) and REDACTED in recorded:
        if not isinstance(actual, str | int | float):
            return False
        # Each marker stands for any text: the rest of the recorded string must be as it was.
        pattern = ".*?".join(re.escape(part) for part in _MARKER.split(recorded))
        return re.fullmatch(pattern, str(actual), re.DOTALL) is not None
    if isinstance(recorded, dict) and isinstance(actual, dict):
        left, right = cast(dict[Any, Any], recorded), cast(dict[Any, Any], actual)
        return left.keys() == right.keys() and all(_same_but_redacted(left[k], right[k]) for k in left)
    if isinstance(recorded, list) and isinstance(actual, list):
        first, second = cast(list[Any], recorded), cast(list[Any], actual)
        return len(first) == len(second) and all(_same_but_redacted(r, a) for r, a in zip(first, second, strict=True))
    return recorded == actual


def matches_redacted(recorded: str | None, actual: str | None) -> bool:
    """Whether ``actual`` arguments equal ``recorded`` ones that the collector redacted, markers matching anything.

    The recorded fingerprint hashes the values before redaction, so it cannot be compared;
    the values around the markers can.
    """
    if recorded is None or actual is None or REDACTED not in recorded:
        return False
    try:
        return _same_but_redacted(json.loads(recorded), json.loads(actual))
    except ValueError:
        return False


# What kind of divergence it is (the report's ``kind``):
DIVERGENCE_KINDS = {
    "different_call": "the agent asked for a call the recording does not have at this point",
    "different_arguments": "the agent made the recorded call with different arguments",
    "extra_call": "the agent made a call after the recording's calls at this point were used up",
    "missing_call": "the agent skipped or never made a call the recording has",
    "different_output": "the agent's result (or exception) differs from the recorded one",
    "end_of_recording": "the recording ends here: the original run stopped (crashed) before this call",
}

Status = Literal["reproduced", "diverged", "cannot_run"]


def pretty(raw: str | None) -> str | None:
    """JSON text re-indented for reading (None stays None; text that is not JSON is kept)."""
    if raw is None:
        return None
    try:
        return json.dumps(json.loads(raw), indent=2, sort_keys=True, ensure_ascii=False)
    except ValueError:
        return raw


def unified_diff(expected: str | None, actual: str | None) -> str:
    """A unified diff of two pretty JSON texts: ``-`` recorded, ``+`` replay."""
    lines = difflib.unified_diff(
        (expected or "").splitlines(),
        (actual or "").splitlines(),
        fromfile="recorded",
        tofile="replay",
        lineterm="",
        n=3,
    )
    return "\n".join(lines)


def address_text(address: dict[str, Any]) -> str:
    """``support > research / tool:search, call 2 there [tool:search#3]`` (``#N`` counts in the whole trace)."""
    path = " > ".join(address.get("agent_path") or [])
    label = f"{address['kind']}:{address['name']}"
    if not path:
        return f"{label} (the root)" if address["kind"] == "agent" else f"{label} (outside any agent)"
    where = f"{path} / {label}"
    if address.get("ordinal"):
        where += f", call {address['ordinal']} there"
    if address.get("number"):
        where += f" [{label}#{address['number']}]"
    return where


@dataclass
class Divergence:
    """The first point where the replay and the recording part ways."""

    kind: str
    message: str
    address: dict[str, Any]
    expected: str | None = None  # recorded arguments / output (pretty JSON)
    actual: str | None = None  # the replay's arguments / output (pretty JSON)
    diff: str = ""
    candidates: list[dict[str, Any]] = field(default_factory=list[dict[str, Any]])
    # Fields of the recorded arguments that the collector redacted before storage: a diff there
    # says nothing about the agent, so the report names them instead.
    redacted: list[str] = field(default_factory=list[str])

    def __post_init__(self) -> None:
        if not self.redacted:
            self.redacted = redacted_fields(self.expected)

    @property
    def where(self) -> str:
        """The address as one line of text."""
        return address_text(self.address)


@dataclass
class ReplayReport:
    """Everything ``tracereel replay`` prints; ``exit_code`` is 0 reproduced, 1 diverged, 2 cannot run."""

    trace_id: str
    status: Status
    mode: str = "strict"
    entrypoint: str | None = None
    divergence: Divergence | None = None
    error: str | None = None  # why it cannot run (status ``cannot_run``)
    recorded_calls: int = 0  # tool and LLM calls in the recording
    served: int = 0
    live: int = 0
    stubbed: int = 0
    overridden: list[str] = field(default_factory=list[str])
    outcome: dict[str, Any] = field(default_factory=dict[str, Any])  # {"recorded", "replayed", "changed"}
    nondeterminism: dict[str, int] = field(default_factory=dict[str, int])  # {"recorded", "served", "live"}
    truncated: bool = False
    replay_trace_id: str | None = None
    notes: list[str] = field(default_factory=list[str])
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        """0 reproduced, 1 diverged, 2 cannot run."""
        return {"reproduced": 0, "diverged": 1}.get(self.status, 2)

    @property
    def reproduced(self) -> bool:
        """True when every recorded call was consumed and the outcome is the same."""
        return self.status == "reproduced"

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON-able data (what ``--json`` prints)."""
        data = asdict(self)
        data["exit_code"] = self.exit_code
        if self.divergence is not None:
            data["divergence"]["where"] = self.divergence.where
            data["divergence"]["description"] = DIVERGENCE_KINDS.get(self.divergence.kind, "")
        return data

    def to_json(self) -> str:
        """``to_dict()`` as indented JSON."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False, default=str)

    def summary(self) -> str:
        """One line: what happened."""
        if self.status == "reproduced":
            return f"reproduced: {self.served} recorded call(s) served, same outcome"
        if self.status == "cannot_run":
            return f"cannot replay: {self.error}"
        assert self.divergence is not None
        return f"diverged ({self.divergence.kind}) at {self.divergence.where}"
