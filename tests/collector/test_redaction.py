"""Redaction before storage: known answers per kind, JSON kept valid, and the collector end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.collector.otlp_payloads import T0, TRACE, kv, protobuf_request
from tests.support import clean_env
from tracereel.collector.control import KINDS, RedactionError, load_redactor

PB_HEADERS = {"content-type": "application/x-protobuf"}

# (value, what it must become): one or more per kind.
FOUND = [
    ("mail me at bob.smith+tag@mail.example.co.uk", "mail me at <redacted:email>"),
    ("call +1 415 555 2671 now", "call <redacted:phone> now"),
    ("+14155552671", "<redacted:phone>"),
    ("+44 20 7946 0958", "<redacted:phone>"),
    ("+49 (30) 1234-5678", "<redacted:phone>"),
    ("(415) 555-2671", "<redacted:phone>"),
    ("415.555.2671", "<redacted:phone>"),
    ("020 7946 0958", "<redacted:phone>"),
    ("card 4111 1111 1111 1111 exp 12/29", "card <redacted:card> exp 12/29"),
    ("5500-0000-0000-0004", "<redacted:card>"),
    ("378282246310005", "<redacted:card>"),
    ("IBAN DE89 3704 0044 0532 0130 00.", "IBAN <redacted:iban>."),
    ("GB82WEST12345698765432", "<redacted:iban>"),
    ("DE89370400440532013000 ABCD", "<redacted:iban> ABCD"),
    ("from 192.168.1.20:8080", "from <redacted:ipv4>:8080"),
    ("client 2001:db8:85a3::8a2e:370:7334 said", "client <redacted:ipv6> said"),
    ("sk-ant-api03-" + "a1B2" * 10, "<redacted:anthropic_key>"),
    ("key=sk-proj-" + "Zz09" * 8, "key=<redacted:openai_key>"),
    ("AKIAIOSFODNN7EXAMPLE", "<redacted:aws_access_key>"),
    ("token ghp_" + "x" * 36, "token <redacted:github_token>"),
    ("xoxb-123456789012-abcdefABCDEF", "<redacted:slack_token>"),
    ("AIza" + "Sy" * 17 + "Q", "<redacted:google_api_key>"),
    ("sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc", "<redacted:stripe_key>"),
    ("Authorization: Bearer abc.def-ghijkl", "Authorization: Bearer <redacted:bearer>"),
    (
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "<redacted:jwt>",
    ),
    (
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\nbye",
        "<redacted:private_key>\nbye",
    ),
    ("-----BEGIN PRIVATE KEY-----\nMIIEvQ (cut short)", "<redacted:private_key>"),
]

KEPT = [
    "order A-1001 and code 4821",
    "ORD-20240115-0042",
    "2024-01-15T10:30:00.123456Z",
    "2024-01-15 10:30:00",
    "550e8400-e29b-41d4-a716-446655440000",
    "4bf92f3577b34da6a3ce929d0e0e4736",  # a trace id
    "00f067aa0ba902b7",  # a span id
    "version 1.2.3 and 10.4.22-beta",
    "$1,299.99 or 1299.99 EUR",
    "4111111111111112",  # 16 digits, fails Luhn
    "1700000000000000000",  # nanoseconds since the epoch
    "1700000000123",  # milliseconds
    "1700000000",  # seconds
    "12:30:45",
    "std::vector and Foo::bar::baz",
    "00:1A:2B:3C:4D:5E",  # a MAC address is not an IPv6 one
    "ABCD1234EFGH5678 and DE00123456789012345",  # capitals and digits failing mod-97
    "gpt-4o-mini",
    "sk-short",
    "the bearer of bad news",
    "a@b",
    "12345",
]


def redact(value: str) -> tuple[str, dict[str, int]]:
    redactor = load_redactor("default")
    assert redactor is not None
    counts: dict[str, int] = {}
    return redactor.redact(value, counts), counts


@pytest.mark.parametrize(("value", "expected"), FOUND)
def test_each_kind_is_replaced_by_its_marker(value, expected):
    out, counts = redact(value)
    assert out == expected
    assert sum(counts.values()) == 1
    assert set(counts) <= set(KINDS)


@pytest.mark.parametrize("value", KEPT)
def test_values_that_only_look_alike_are_kept(value):
    assert redact(value) == (value, {})


def test_every_built_in_kind_has_a_known_answer():
    kinds = {kind for value, _ in FOUND for kind in redact(value)[1]}
    assert kinds == set(KINDS)


def test_json_values_are_redacted_inside_their_strings_and_stay_valid_json():
    value = json.dumps(
        {"to": "Ann <ann@example.com>", "card": 4111111111111111, "items": [{"ip": "10.0.0.1"}, "A-1001"], "n": 3}
    )
    out, counts = redact(value)
    assert json.loads(out) == {
        "to": "Ann <<redacted:email>>",
        "card": "<redacted:card>",
        "items": [{"ip": "<redacted:ipv4>"}, "A-1001"],
        "n": 3,
    }
    assert counts == {"email": 1, "card": 1, "ipv4": 1}
    # A JSON string holding a PEM key: its newlines are escapes in the text, characters once parsed.
    pem = json.dumps("-----BEGIN EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY-----")
    assert json.loads(redact(pem)[0]) == "<redacted:private_key>"


def test_json_without_findings_keeps_its_exact_text():
    value = '{"order": "A-1001",  "at": "2024-01-15T10:30:00Z", "total": 12.50}'
    assert redact(value) == (value, {})


def test_off_is_no_redactor():
    assert load_redactor("off") is None


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "rules.toml"
    path.write_text(text)
    return str(path)


def test_custom_rules_add_to_the_defaults_and_can_disable_kinds(tmp_path):
    redactor = load_redactor(
        write(
            tmp_path,
            """disable = ["phone"]
[[rules]]
name = "employee_id"
pattern = "EMP-[0-9]{6}"
""",
        )
    )
    assert redactor is not None
    counts: dict[str, int] = {}
    out = redactor.redact("EMP-004211 at ann@example.com, +1 415 555 2671", counts)
    assert out == "<redacted:employee_id> at <redacted:email>, +1 415 555 2671"
    assert counts == {"employee_id": 1, "email": 1}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[rules]]\nname = "ticket"\npattern = "TCK-(["\n', "rule 'ticket': bad pattern 'TCK-(['"),
        ('[[rules]]\nname = "empty"\npattern = "x*"\n', "rule 'empty': pattern 'x*' matches the empty string"),
        ('[[rules]]\nname = "email"\npattern = "x+"\n', "rule 'email': the name is already taken"),
        ('[[rules]]\npattern = "x+"\n', "rule 1: 'name' must be a word"),
        ('disable = ["phones"]\n', "cannot disable unknown kind(s) ['phones']"),
        ("rules = [\n", "not valid TOML"),
        ('rule = "x"\n', "unknown key(s) ['rule']"),
    ],
)
def test_a_bad_rules_file_names_the_file_and_the_rule(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(RedactionError) as raised:
        load_redactor(path)
    assert str(raised.value).startswith(f"redaction rules {path}: ")
    assert message in str(raised.value)


def test_a_missing_file_says_what_redact_takes(tmp_path):
    with pytest.raises(RedactionError, match="expected 'default', 'off' or a TOML rules file"):
        load_redactor(str(tmp_path / "nope.toml"))


def pii_request() -> bytes:
    span = {
        "span_id": "00f067aa0ba902b7",
        "name": "lookup",
        "attributes": {
            "user.email": "ann@example.com",
            "tracereel.args": json.dumps({"card": "4111 1111 1111 1111", "order": "A-1001"}),
            "order.id": "A-1001",
        },
        "status": 2,
        "message": "refused for 10.1.2.3",
    }
    request = ExportTraceServiceRequest.FromString(protobuf_request([span], service="pii-svc"))
    request.resource_spans[0].resource.attributes.append(kv("host.owner", "ops@example.com"))
    event = request.resource_spans[0].scope_spans[0].spans[0].events.add(name="called", time_unix_nano=T0 + 10)
    event.attributes.append(kv("phone", "+44 20 7946 0958"))
    return request.SerializeToString()


def test_spans_are_stored_redacted_and_healthz_counts_the_kinds(asgi_collector_factory):
    collector = asgi_collector_factory()
    with collector.client() as http:
        assert http.get("/healthz").json()["redactions"] == {}
        assert http.post("/v1/traces", content=pii_request(), headers=PB_HEADERS).status_code == 200
        span = http.get(f"/api/v1/traces/{TRACE}").json()["spans"][0]
        health = http.get("/healthz").json()
    assert span["attributes"]["user.email"] == "<redacted:email>"
    assert json.loads(span["attributes"]["tracereel.args"]) == {"card": "<redacted:card>", "order": "A-1001"}
    assert span["attributes"]["order.id"] == "A-1001"
    assert span["events"][0]["attributes"] == {"phone": "<redacted:phone>"}
    assert span["status_message"] == "refused for <redacted:ipv4>"
    # The read API does not show resource attributes: ask the store.
    [(resource,)] = collector.store.query("SELECT ResourceAttributes FROM otel_traces")
    assert resource == {"service.name": "pii-svc", "host.owner": "<redacted:email>"}
    assert health["redactions"] == {"card": 1, "email": 2, "ipv4": 1, "phone": 1}


def test_redact_off_stores_values_unchanged(asgi_collector_factory):
    collector = asgi_collector_factory(redact="off")
    with collector.client() as http:
        assert http.post("/v1/traces", content=pii_request(), headers=PB_HEADERS).status_code == 200
        span = http.get(f"/api/v1/traces/{TRACE}").json()["spans"][0]
        assert http.get("/healthz").json()["redactions"] is None
    assert span["attributes"]["user.email"] == "ann@example.com"
    assert span["status_message"] == "refused for 10.1.2.3"


def test_parse_worker_processes_redact_with_the_collectors_rules(tmp_path, asgi_collector_factory):
    from tracereel.collector.ingest import ParsePool

    rules = write(tmp_path, '[[rules]]\nname = "order"\npattern = "A-[0-9]{4}"\n')
    collector = asgi_collector_factory(parser=ParsePool(1), redact=rules)
    with collector.client() as http:
        assert http.post("/v1/traces", content=pii_request(), headers=PB_HEADERS).status_code == 200
        span = http.get(f"/api/v1/traces/{TRACE}").json()["spans"][0]
        health = http.get("/healthz").json()
    assert span["attributes"]["order.id"] == "<redacted:order>"
    assert span["attributes"]["user.email"] == "<redacted:email>"
    assert health["redactions"]["order"] == 2


@pytest.mark.e2e
def test_a_bad_rule_stops_serve_with_one_line(tmp_path):
    rules = write(tmp_path, '[[rules]]\nname = "ticket"\npattern = "TCK-(["\n')
    process = subprocess.run(
        [
            sys.executable,
            "-m",
            "tracereel",
            "serve",
            "--port",
            "0",
            "--store",
            f"chdb://{tmp_path}/s",
            "--redact",
            rules,
        ],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=60,
    )
    assert process.returncode != 0
    lines = process.stderr.strip().splitlines()
    assert len(lines) == 1, process.stderr
    assert f"redaction rules {rules}: rule 'ticket': bad pattern" in lines[0]
