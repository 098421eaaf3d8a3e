"""Schemathesis over the whole collector API: every operation's answers match its OpenAPI document.

The app is the real one (``create_app`` over a real chDB store, its lifespan running); an admin
key reaches every route. Generation is derandomized and bounded, so a run is deterministic; a
failure names the operation, the check and a curl command that reproduces it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tracereel.collector import CollectorSettings, Store, create_app
from tracereel.collector.ingest import ParsePool

ADMIN_KEY: Final = "trk_schemathesis_admin_key_0123456789"
AUTH: Final = {"Authorization": f"Bearer {ADMIN_KEY}"}
EXAMPLES: Final = 12

# Inputs whose validity JSON Schema does not say in full, so a request that fits the document
# may still be refused (with a status the document gives, and a message naming the input):
# - an OTLP export: protobuf, or its JSON mapping, whose ids and nesting opentelemetry-proto defines;
# - a monitor: one of above or below, a routing key for the pagerduty format only, eval metrics
#   with a dataset;
# - an online rule: known scorer names with their options, a rubric for llm_judge;
# - the canary verdict: baseline and canary must be two different versions;
# - an eval report: a case's `passed` agrees with its `status`, (id, variant, repeat) is unique, and
#   counts are integers written as integers (JSON Schema's "integer" also admits 2928.0);
# - a review queue: its `when` is an expression the collector parses (a 422 naming the position);
# - failure clusters: a window is a duration parse_duration reads, of at most 366 days;
# - times (ISO 8601 or unix seconds, from before to, within ClickHouse's range) and buckets (at
#   most 2000 in the window), parsed by collector/query/params.py.
# Every other check (no 5xx, documented status codes, content types, response schemas) still runs.
NOT_FULLY_DESCRIBED: Final = frozenset(
    {
        "POST /v1/traces",
        "POST /api/v1/monitors",
        "POST /api/v1/review/queues",
        "GET /api/v1/clusters",
        "POST /api/v1/online/rules",
        "GET /api/v1/compare",
        "POST /api/v1/evals/runs",
        "GET /api/v1/traces",
        "GET /api/v1/metrics",
        "GET /api/v1/metrics/timeseries",
        "GET /api/v1/metrics/breakdown",
    }
)


@pytest.fixture
def schema(store: Store, tmp_path: Path) -> Iterator[Any]:
    config = CollectorSettings(store=store.url, grpc_port=0, wal_dir=str(tmp_path / "wal"), admin_key=ADMIN_KEY)
    # Parsing in a thread, as in the other in-process collector tests.
    app = create_app(config, store, parser=ParsePool(0))
    try:
        loaded = schemathesis.openapi.from_asgi("/openapi.json", app, headers=AUTH)
        yield loaded
    finally:
        # Schemathesis starts the app's lifespan on its first request and keeps it; end it
        # while the store is still open.
        asgi.shutdown_lifespans()


def _failure(operation: Any, mode: GenerationMode) -> str | None:
    """Run ``operation``'s generated cases in ``mode``; what schemathesis found, or None."""
    excluded = [positive_data_acceptance] if operation.label in NOT_FULLY_DESCRIBED else []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        case.call_and_validate(headers=AUTH, excluded_checks=excluded)

    try:
        check()
    except Unsatisfiable:
        # Nothing to negate (no parameters, or only free-form strings): no request to send.
        return None if mode is GenerationMode.NEGATIVE else f"{operation.label}: no positive case could be made"
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # schemathesis reports several failures as an exception group
        return f"{operation.label} ({mode.value}): {exc}"
    return None


def test_every_operation_conforms_to_the_openapi_document(schema: Any) -> None:
    operations = [result.ok() for result in schema.get_all_operations()]
    labels = {operation.label for operation in operations}
    assert NOT_FULLY_DESCRIBED <= labels  # the exceptions name operations that exist
    failures = [f for operation in operations for mode in GenerationMode if (f := _failure(operation, mode))]
    assert not failures, "\n\n".join(failures)


def test_the_document_declares_the_key_and_the_collectors_own_errors(schema: Any) -> None:
    document = schema.raw_schema
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key (tracereel keys create), when the collector has keys",
    }
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if path == "/healthz":
                assert "security" not in operation and "401" not in operation["responses"]
                continue
            assert operation["security"] == [{"bearer": []}], (method, path)
            error = operation["responses"]["401"]["content"]["application/json"]["schema"]
            assert error == {"$ref": "#/components/schemas/ErrorBody"}, (method, path)
