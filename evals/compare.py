"""Regression and fix between two eval runs: the one rule the CLI's ``--baseline`` and the dashboard share.

Cases are matched by id and variant. Over a case's repeats (``--repeat``) its outcome in a run
is ``failed`` if any tested repeat failed, ``passed`` if every tested repeat passed, and
``skipped`` if none was tested. From the older run to the newer one:

================  =================  ===============
older             newer              change
================  =================  ===============
passed            failed             regression
failed            passed             fix
passed            passed             still passing
failed            failed             still failing
skipped (either)  anything           skipped
absent            present            new
present           absent             removed
================  =================  ===============

A skipped case tested nothing in that run, so it is neither a regression nor a fix.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal

from tracereel.contracts.evals import CaseResult, CaseStatus, EvalReport

__all__ = ["CHANGES", "CaseChange", "CaseKey", "Change", "case_label", "change", "compare_runs", "outcomes"]

Change = Literal["regression", "fix", "still failing", "still passing", "skipped", "new", "removed"]
# The changes in the order a comparison lists them: what needs a look first.
CHANGES: Final[tuple[Change, ...]] = (
    "regression",
    "fix",
    "still failing",
    "still passing",
    "skipped",
    "new",
    "removed",
)
CaseKey = tuple[str, str | None]  # (case id, variant)


@dataclass(frozen=True)
class CaseChange:
    """One case (and variant) of two runs: its outcome in each (None: not in that run) and the change."""

    id: str
    variant: str | None
    before: CaseStatus | None
    after: CaseStatus | None
    change: Change

    @property
    def label(self) -> str:
        """``id`` or ``id [variant]``."""
        return case_label(self.id, self.variant)


def case_label(case_id: str, variant: str | None) -> str:
    """How people see a case and its variant: ``id`` or ``id [variant]``."""
    return case_id if variant is None else f"{case_id} [{variant}]"


def outcomes(cases: Iterable[CaseResult]) -> dict[CaseKey, CaseStatus]:
    """Each case and variant's outcome over its repeats, in first-seen order (see the module's table)."""
    seen: dict[CaseKey, set[CaseStatus]] = {}
    for case in cases:
        seen.setdefault((case.id, case.variant), set()).add(case.status)
    out: dict[CaseKey, CaseStatus] = {}
    for key, statuses in seen.items():
        if "failed" in statuses:
            out[key] = "failed"
        elif "passed" in statuses:
            out[key] = "passed"
        else:
            out[key] = "skipped"
    return out


def change(before: CaseStatus | None, after: CaseStatus | None) -> Change:
    """The change of one case from its outcome in the older run to the newer (None: absent there)."""
    if before is None:
        return "new"
    if after is None:
        return "removed"
    if "skipped" in (before, after):
        return "skipped"
    if before == "passed":
        return "still passing" if after == "passed" else "regression"
    return "fix" if after == "passed" else "still failing"


def compare_runs(
    older: EvalReport | Iterable[CaseResult], newer: EvalReport | Iterable[CaseResult]
) -> list[CaseChange]:
    """Every case and variant of two runs, ``older`` first, with its change; in the newer run's order
    (then the removed ones). The caller decides which run is older (a baseline is; on the
    dashboard, the run the collector lists later)."""
    before = outcomes(older.cases if isinstance(older, EvalReport) else older)
    after = outcomes(newer.cases if isinstance(newer, EvalReport) else newer)
    keys = [*after, *(k for k in before if k not in after)]
    return [CaseChange(k[0], k[1], before.get(k), after.get(k), change(before.get(k), after.get(k))) for k in keys]
