"""The one rule for regression and fix between two eval runs, on a table of cases."""

from __future__ import annotations

import pytest

from tracereel.contracts.evals import CaseResult
from tracereel.evals.compare import case_label, change, compare_runs, outcomes


def _case(case_id: str, status: str, *, variant: str | None = None, repeat: int = 0) -> CaseResult:
    return CaseResult.model_validate({"id": case_id, "variant": variant, "status": status, "repeat": repeat})


# (outcome in the older run, outcome in the newer run) -> the change; None: absent from that run.
TABLE = [
    ("passed", "failed", "regression"),
    ("failed", "passed", "fix"),
    ("passed", "passed", "still passing"),
    ("failed", "failed", "still failing"),
    ("skipped", "failed", "skipped"),
    ("passed", "skipped", "skipped"),
    ("skipped", "skipped", "skipped"),
    (None, "failed", "new"),
    ("passed", None, "removed"),
]


@pytest.mark.parametrize(("before", "after", "expected"), TABLE)
def test_the_change_of_one_case(before, after, expected):
    assert change(before, after) == expected
    older = [] if before is None else [_case("a", before)]
    newer = [] if after is None else [_case("a", after)]
    (only,) = compare_runs(older, newer)
    assert (only.before, only.after, only.change) == (before, after, expected)


def test_repeats_fold_into_one_outcome_per_case_and_variant():
    cases = [
        _case("a", "passed"),
        _case("a", "failed", repeat=1),  # one failed repeat: the case failed
        _case("b", "skipped"),
        _case("b", "passed", repeat=1),  # skipped repeats tested nothing: the tested one counts
        _case("c", "skipped"),
        _case("c", "skipped", repeat=1),
        _case("a", "passed", variant="perturb:typos"),  # a variant is a case of its own
    ]
    assert outcomes(cases) == {
        ("a", None): "failed",
        ("b", None): "passed",
        ("c", None): "skipped",
        ("a", "perturb:typos"): "passed",
    }


def test_the_newer_runs_order_then_the_removed_cases_and_variant_labels():
    older = [_case("gone", "passed"), _case("a", "passed"), _case("a", "passed", variant="fault:tool:x=error")]
    newer = [_case("a", "failed", variant="fault:tool:x=error"), _case("a", "passed"), _case("fresh", "failed")]
    changes = compare_runs(older, newer)
    assert [(c.label, c.change) for c in changes] == [
        ("a [fault:tool:x=error]", "regression"),
        ("a", "still passing"),
        ("fresh", "new"),
        ("gone", "removed"),
    ]
    assert case_label("a", None) == "a"
