"""``tracereel dashboard``: its options and the one-line error for a bad collector URL."""

from __future__ import annotations

from click.testing import CliRunner

from tracereel.cli import main


def test_dashboard_is_registered_with_its_options():
    result = CliRunner().invoke(main, ["dashboard", "--help"])
    assert result.exit_code == 0
    assert "--collector" in result.output and "TRACEREEL_ENDPOINT" in result.output
    assert "--port" in result.output and "8501" in result.output


def test_a_collector_that_is_not_http_is_one_clear_line():
    result = CliRunner().invoke(main, ["dashboard", "--collector", "ftp://example"])
    assert result.exit_code == 2  # like every command that cannot run
    assert result.output.strip() == "Error: --collector 'ftp://example' is not an http(s):// URL"
