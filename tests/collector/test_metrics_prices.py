"""The price table: defaults, prefix matching, TRACEREEL_PRICES files, and their use by the collector."""

from __future__ import annotations

import json
import os

import pytest
from otel_client import OtelClient

from tracereel import semconv as sc
from tracereel.collector.query import DEFAULT_PRICES, ENV_VAR, Price, PriceError, load_prices


def test_defaults_and_prefix_matching():
    table = load_prices(None)
    assert table.lookup("gpt-4o") == Price(2.50, 10.00)
    assert table.lookup("gpt-4o-2024-08-06") == Price(2.50, 10.00)
    assert table.lookup("gpt-4o-mini-2024-07-18") == DEFAULT_PRICES["gpt-4o-mini"]
    assert table.lookup("claude-sonnet-4-20250514") == Price(3.00, 15.00)
    assert table.lookup("gpt-4omega") is None
    assert table.lookup("mystery-model") is None
    assert table.resolve(["gpt-4o", "mystery-model", "gpt-4o"]) == (["gpt-4o"], [2.5], [10.0])


def test_toml_and_json_files_override_model_by_model(tmp_path):
    toml = tmp_path / "p.toml"
    toml.write_text(
        "[gpt-4o]\ninput_per_million = 1.0\noutput_per_million = 2.0\n\n"
        '["my-llm"]\ninput_per_million = 3\noutput_per_million = 4\n'
    )
    table = load_prices(str(toml))
    assert table.lookup("gpt-4o") == Price(1.0, 2.0)
    assert table.lookup("my-llm") == Price(3.0, 4.0)
    assert table.lookup("gpt-4o-mini") == DEFAULT_PRICES["gpt-4o-mini"]
    js = tmp_path / "p.json"
    js.write_text(json.dumps({"my-llm": {"input_per_million": 5, "output_per_million": 6}}))
    assert load_prices(str(js)).lookup("my-llm") == Price(5.0, 6.0)


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("bad.toml", "[gpt-4o\n", "not valid TOML"),
        ("bad.json", "{", "not valid JSON"),
        ("list.json", "[1, 2]", "expected a table of models"),
        ("missing.toml", "[m]\ninput_per_million = 1\n", "missing output_per_million"),
        ("negative.toml", "[m]\ninput_per_million = -1\noutput_per_million = 1\n", "non-negative number"),
        ("typo.toml", "[m]\ninput_per_million = 1\noutput_per_milion = 1\noutput_per_million = 1\n", "unknown key"),
    ],
)
def test_bad_files_name_the_variable(tmp_path, name, content, problem):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(PriceError) as caught:
        load_prices(str(path))
    assert str(caught.value).startswith(f"{ENV_VAR}={path}")
    assert problem in str(caught.value)


def test_missing_file_names_the_variable(tmp_path):
    with pytest.raises(PriceError, match=f"^{ENV_VAR}=.*cannot read"):
        load_prices(str(tmp_path / "nope.toml"))


def test_collector_prices_from_the_file_and_reports_a_bad_one(priced_collector, prices_path):
    prices_path.write_text("[mystery-model]\ninput_per_million = 10.0\noutput_per_million = 20.0\n")
    otel = OtelClient(priced_collector)
    root = otel.span("invoke_agent a", start_ms=0, duration_ms=10, end=False, attributes={sc.AGENT_NAME: "a"})
    attrs = {
        sc.OPERATION_NAME: sc.OP_CHAT,
        sc.REQUEST_MODEL: "mystery-model",
        sc.USAGE_INPUT_TOKENS: 1000,
        sc.USAGE_OUTPUT_TOKENS: 500,
    }
    otel.span("chat mystery-model", start_ms=1, duration_ms=5, parent=root, attributes=attrs)
    otel.end(root)
    otel.wait()
    window = {"from": "2026-01-01T00:00:00Z", "to": "2026-01-01T01:00:00Z"}
    with priced_collector.client() as http:
        got = http.get("/api/v1/metrics", params=window).json()
        assert got["cost_usd"] == pytest.approx((1000 * 10.0 + 500 * 20.0) / 1e6)
        assert got["cost_coverage"] == 1.0
        assert http.get("/api/v1/prices").json()["prices"]["mystery-model"] == {
            "input_per_million": 10.0,
            "output_per_million": 20.0,
        }
        # A broken edit is reported, naming the variable, on the next request (the file is re-read on change).
        prices_path.write_text("[mystery-model\n")
        stat = prices_path.stat()
        os.utime(prices_path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
        response = http.get("/api/v1/metrics", params=window)
        # Traces stay readable (costs from the built-in table) while the file is broken.
        listed = http.get("/api/v1/traces", params=window)
        assert listed.status_code == 200 and listed.json()["traces"][0]["cost_coverage"] == 0.0
    assert response.status_code == 500
    assert response.json()["detail"].startswith(f"{ENV_VAR}={prices_path}: not valid TOML")
    otel.shutdown()
