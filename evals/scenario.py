"""The scenario layers on one case run: planted injections, a trap's empty values and injected faults,
as overrides of the tape (replayed cases) or an interceptor around live calls."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from tracereel.evals.model import Case
from tracereel.evals.options import RunOptions
from tracereel.evals.planning import Recorded
from tracereel.evals.variants import INJECTION_TARGET, empty_like, plant
from tracereel.sdk.hooks import BoundaryCall

__all__ = [
    "NOTHING_TO_EMPTY",
    "NO_TEXT_TO_PLANT",
    "Scenario",
    "TapeScenario",
    "fault_target",
    "modes",
    "never_called",
    "tape_scenario",
]


# Why a variant tested nothing. Said once here, for replayed and live cases alike.
NO_TEXT_TO_PLANT: Final = "no tool result has text to plant the canary in: the injection could not apply"
NOTHING_TO_EMPTY: Final = "no tool returned a value to empty: the trap could not apply"


def fault_target(case: Case) -> tuple[str, str] | None:
    """The (kind, name) a fault variant breaks, or None for any other case."""
    variant = case.variant or ""
    if not variant.startswith("fault:"):
        return None
    kind, _, name = variant.removeprefix("fault:").partition("=")[0].partition(":")
    return kind, name


def never_called(target: tuple[str, str]) -> str:
    """Why a fault variant whose boundary was never called tested nothing."""
    return f"{target[0]}:{target[1]} is never called: the fault could not apply"


@dataclass(frozen=True)
class TapeScenario:
    """What a replayed variant changes in its recording, or why it cannot apply to it."""

    overrides: dict[str, Any]  # "tool:NAME#N" -> the value served instead of the recorded result
    skipped: str | None = None


def tape_scenario(case: Case, recorded: Recorded, tools: str) -> TapeScenario:
    """The recorded tool results to replace (planted injections, a trap's empty values), and whether
    the variant applies to this recording at all (``tools``: where tool results come from)."""
    out: dict[str, Any] = {}
    injection = case.overrides.get(INJECTION_TARGET)
    planted_once = False
    for name, number, result_json in recorded.tools:
        value = json.loads(result_json)
        if case.trap:
            out[f"tool:{name}#{number}"] = empty_like(value)
        elif injection is not None and not planted_once:
            # Into the first tool result that has text (what the agent fetched), not every one: a
            # result the agent hands back verbatim would otherwise "leak" a canary nobody obeyed.
            planted, ok = plant(value, injection)
            if ok:
                out[f"tool:{name}#{number}"] = planted
                planted_once = True
    for key, value in case.overrides.items():
        if key != INJECTION_TARGET:
            out[key] = value
    skipped = None
    if injection is not None and not planted_once:
        skipped = NO_TEXT_TO_PLANT
    elif case.trap and not recorded.tools:
        skipped = NOTHING_TO_EMPTY
    target = fault_target(case)
    if tools == "tape" and target is not None and target not in recorded.called:
        skipped = never_called(target)
    return TapeScenario(out, skipped)


def modes(case: Case, options: RunOptions) -> tuple[str, str]:
    # A variant that changes what the model reads (planted text, noisy input, emptied tools) cannot
    # be served the recorded answer, so by default its model runs live; an explicit --llm wins.
    changes_model_input = case.trap or INJECTION_TARGET in case.overrides or (case.variant or "").startswith("perturb:")
    llm = options.llm or ("live" if changes_model_input else "tape")
    return options.tools or "tape", llm


class Scenario:
    """The interceptor of a live case with faults, planted injections or a trap."""

    def __init__(self, case: Case) -> None:
        from tracereel.replay import parse_faults

        self.faults = parse_faults(case.faults)
        self.injection = case.overrides.get(INJECTION_TARGET)
        self.trap = case.trap
        self.planted = False  # like on tape: only the first tool result with text carries the injection
        self.emptied = False
        self.target = fault_target(case)
        self.target_called = False

    def skipped(self) -> str | None:
        """After the run: why the variant tested nothing, or None if it applied."""
        if self.injection is not None and not self.planted:
            return NO_TEXT_TO_PLANT
        if self.trap and not self.emptied:
            return NOTHING_TO_EMPTY
        if self.target is not None and not self.target_called:
            return never_called(self.target)
        return None

    def _before(self, call: BoundaryCall) -> None:
        if (call.kind, call.name) == self.target:
            self.target_called = True
        fault = self.faults.get((call.kind, call.name)) if call.kind != "agent" else None
        if fault == "timeout":
            raise TimeoutError(f"tracereel: injected timeout ({call.kind}:{call.name}={fault})")
        if fault == "error":
            from tracereel.replay import InjectedFault

            raise InjectedFault(f"tracereel: injected error ({call.kind}:{call.name}={fault})")

    def _after(self, call: BoundaryCall, result: Any) -> Any:
        if call.kind != "tool":
            return result
        if self.trap:
            if isinstance(result, str | list | dict):
                self.emptied = True
                return empty_like(result)
            return result
        if self.injection is not None and not self.planted and isinstance(result, str | list | dict):
            planted, self.planted = plant(result, self.injection)
            return planted
        return result

    def intercept(self, call: BoundaryCall, proceed: Callable[[], Any]) -> Any:
        """Raise the injected fault, or run the body and plant into its result."""
        self._before(call)
        return self._after(call, proceed())

    async def intercept_async(self, call: BoundaryCall, proceed: Callable[[], Any]) -> Any:
        """The same for async boundaries."""
        self._before(call)
        return self._after(call, await proceed())
