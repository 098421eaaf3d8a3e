"""The scenario layers on one case run: planted injections, a trap's empty values and injected faults,
as overrides of the tape (replayed cases) or an interceptor around live calls."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from tracereel.evals.model import Case
from tracereel.evals.options import RunOptions
from tracereel.evals.planning import Recorded
from tracereel.evals.variants import INJECTION_TARGET, empty_like, plant
from tracereel.sdk.hooks import BoundaryCall

__all__ = ["Scenario", "modes", "overrides"]


def overrides(case: Case, recorded: Recorded) -> dict[str, Any]:
    """The recorded tool results to replace: planted injections, or a trap's empty values."""
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
    return out


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

    def _before(self, call: BoundaryCall) -> None:
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
            return empty_like(result) if isinstance(result, str | list | dict) else result
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
