"""Calibration of the canary gate on simulated traffic: how often it fails equal versions, and a worse one.

    .venv/bin/python bench/gate_calibration.py [--draws 200] [--seed 2026] [--json]

No store: each simulated canary is a pair of per-task samples shaped as the store gives them
(``collector/query/compare.py`` ``task_samples``: one array per column, one entry per task),
judged by the gate's own :func:`tracereel.collector.query.judge` with its default metrics.
The traffic (:data:`BASELINE`) is an agent of the demo's kind: 90% task success, about two
tool calls per task with timeouts and errors, retries, loops, guardrail violations and
escalations (failed tasks loop, escalate and hit guardrails more often), heavy-tailed
latency and per-call cost.

Two scenarios, ``--draws`` canaries each, 400 baseline tasks against 300 canary tasks:

- ``equal``: the canary drawn like the baseline. The gate should ``fail`` at most 5% of them
  (its one-sided family-wise alpha) and be ``inconclusive`` at most 10%.
- ``success -10 pts``: the canary's task success 80% instead of 90%, all else equal. The gate
  should fail at least 80% of them.

It prints each scenario's rates of fail, inconclusive and promote with a 95% Wilson interval,
and how often each metric was called worse; the figures are in the README.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from tracereel.collector.query import judge

__all__ = ["BASELINE", "Calibration", "Traffic", "calibrate", "main", "scenario", "simulate"]


@dataclass(frozen=True)
class Traffic:
    """How one version's tasks behave."""

    success: float = 0.9
    tool_calls: float = 2.0  # per task (Poisson)
    llm_calls: float = 2.5  # per task (1 + Poisson)
    tool_timeout: float = 0.03  # per tool call
    tool_error: float = 0.04  # per tool call, other than timeouts
    retry: float = 0.03  # per call
    loop: tuple[float, float] = (0.02, 0.15)  # per task: (when it succeeded, when it failed)
    violation: tuple[float, float] = (0.01, 0.08)
    escalation: tuple[float, float] = (0.02, 0.25)
    latency_ms: float = 6000.0  # median task duration (log-normal, sigma 0.6)
    cost_usd: float = 0.002  # mean cost of one LLM call (exponential)


BASELINE = Traffic()
SIZES = (400, 300)  # baseline tasks, canary tasks


def simulate(traffic: Traffic, tasks: int, rng: np.random.Generator) -> dict[str, NDArray[Any]]:
    """Per-task arrays of one version, as ``task_samples`` gives them."""
    success = rng.random(tasks) < traffic.success

    def by_outcome(rates: tuple[float, float]) -> NDArray[Any]:
        return (rng.random(tasks) < np.where(success, rates[0], rates[1])).astype(float)

    tool_calls = rng.poisson(traffic.tool_calls, tasks)
    timeouts = rng.binomial(tool_calls, traffic.tool_timeout)
    errors = rng.binomial(tool_calls - timeouts, traffic.tool_error / (1 - traffic.tool_timeout))
    llm_calls = 1 + rng.poisson(traffic.llm_calls - 1, tasks)
    steps = tool_calls + llm_calls
    # The cost of a task: the sum of its LLM calls' exponential costs, a gamma.
    cost = rng.gamma(llm_calls, traffic.cost_usd)
    return {
        "success": success.astype(float),
        "grounded": np.zeros(tasks),
        "scored": np.zeros(tasks),
        "tool_ok": (tool_calls - timeouts - errors).astype(float),
        "tool_calls": tool_calls.astype(float),
        "tool_timeouts": timeouts.astype(float),
        "tool_errors": errors.astype(float),
        "retries": rng.binomial(steps, traffic.retry).astype(float),
        "steps": steps.astype(float),
        "looped": by_outcome(traffic.loop),
        "priced": llm_calls.astype(float),
        "llm_calls": llm_calls.astype(float),
        "violated": by_outcome(traffic.violation),
        "escalated": by_outcome(traffic.escalation),
        "duration_ms": rng.lognormal(np.log(traffic.latency_ms), 0.6, tasks),
        "cost": cost,
    }


@dataclass
class Calibration:
    """One scenario's outcomes over its draws."""

    name: str
    draws: int = 0
    verdicts: Counter[str] = field(default_factory=Counter[str])
    worse: Counter[str] = field(default_factory=Counter[str])  # draws in which each metric was called worse
    seconds: float = 0.0

    def rate(self, verdict: str) -> float:
        """The share of draws with this verdict."""
        return self.verdicts[verdict] / self.draws if self.draws else 0.0

    def interval(self, verdict: str) -> tuple[float, float]:
        """The 95% Wilson interval of that share."""
        ci = stats.binomtest(self.verdicts[verdict], self.draws).proportion_ci(0.95, method="wilson")
        return float(ci.low), float(ci.high)

    def as_dict(self) -> dict[str, Any]:
        """What ``--json`` prints for this scenario."""
        return {
            "name": self.name,
            "draws": self.draws,
            **{f"{v}_rate": self.rate(v) for v in ("fail", "inconclusive", "promote")},
            **{f"{v}_ci95": self.interval(v) for v in ("fail", "inconclusive", "promote")},
            "worse_by_metric": dict(self.worse),
            "seconds": round(self.seconds, 1),
        }


def scenario(name: str, canary: Traffic, draws: int, seed: int) -> Calibration:
    """Judge ``draws`` canaries of ``canary`` traffic against fresh baselines of BASELINE."""
    rng = np.random.default_rng(seed)
    out = Calibration(name)
    started = time.perf_counter()
    for _ in range(draws):
        answer = judge(simulate(BASELINE, SIZES[0], rng), simulate(canary, SIZES[1], rng))
        out.draws += 1
        out.verdicts[answer.verdict] += 1
        out.worse.update(k for k, m in answer.metrics.items() if m.verdict == "worse")
    out.seconds = time.perf_counter() - started
    return out


def calibrate(draws: int = 200, seed: int = 2026) -> tuple[Calibration, Calibration]:
    """The two scenarios: equal versions, and a canary whose task success is 10 points lower."""
    equal = scenario("equal", BASELINE, draws, seed)
    worse = scenario("success -10 pts", replace(BASELINE, success=BASELINE.success - 0.1), draws, seed + 1)
    return equal, worse


def _line(c: Calibration, verdict: str) -> str:
    low, high = c.interval(verdict)
    return f"{verdict} {c.rate(verdict):6.1%} [{low:.1%}, {high:.1%}]"


def main() -> None:
    """Run both scenarios and print their figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--draws", type=int, default=200, help="canaries per scenario")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    results = calibrate(args.draws, args.seed)
    if args.json:
        print(json.dumps([c.as_dict() for c in results], indent=2))
        return
    print(f"{SIZES[0]} baseline tasks against {SIZES[1]} canary tasks, {args.draws} canaries each (seed {args.seed})")
    for c in results:
        print(f"{c.name:16} " + "  ".join(_line(c, v) for v in ("fail", "inconclusive", "promote")))
        worse = ", ".join(f"{k} {n}" for k, n in c.worse.most_common()) or "none"
        print(f"{'':16} metrics called worse: {worse}; {c.seconds / c.draws * 1000:.0f} ms a canary")


if __name__ == "__main__":
    main()
