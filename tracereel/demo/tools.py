"""The demo agents' tools: billing, tech support, travel and research back ends, simulated.

Each tool is a module-level ``@tracereel.tool`` function, so its calls are recorded and can
be served back by replay. Results are derived from the arguments with a stable hash, so the
same call returns the same data; failures come from the task's :mod:`world` scenario.
"""

from __future__ import annotations

from typing import Any

import tracereel
from tracereel.demo import world

__all__ = [
    "TOOLS",
    "PaymentDeclinedError",
    "RecordNotFoundError",
    "ServiceUnavailableError",
    "book_flight",
    "create_ticket",
    "fetch_page",
    "get_invoice",
    "issue_refund",
    "lookup_customer",
    "run_diagnostic",
    "search_flights",
    "search_kb",
    "web_search",
]


class ServiceUnavailableError(ConnectionError):
    """A back end answered 503; worth retrying."""


class RecordNotFoundError(LookupError):
    """The back end has no such record; retrying will not help."""


class PaymentDeclinedError(RuntimeError):
    """The payment processor refused the operation; retrying will not help."""


def _enter(tool: str, fatal: type[Exception], *args: Any) -> None:
    """Apply the world's outcome for this call: sleep, then maybe raise."""
    outcome = world.current().tool_outcome(tool)
    rng = world.rng_for(tool, *args)
    if outcome == "timeout":
        world.step_delay("timeout", rng)
        raise TimeoutError(f"{tool}: no answer within 10s")
    world.step_delay("tool", rng)
    if outcome == "error":
        raise ServiceUnavailableError(f"{tool}: upstream answered 503 Service Unavailable")
    if outcome == "fatal":
        raise fatal(f"{tool}: request rejected for {', '.join(map(str, args))}")


# --- billing -----------------------------------------------------------------------------
@tracereel.tool
def lookup_customer(customer_id: str) -> dict[str, Any]:
    """The customer's account: name, plan, card on file."""
    _enter("lookup_customer", RecordNotFoundError, customer_id)
    rng = world.rng_for("customer", customer_id)
    return {
        "customer_id": customer_id,
        "name": rng.choice(["Ada Park", "Bruno Diaz", "Chen Wei", "Dana Kim", "Emeka Obi", "Freya Lund"]),
        "plan": rng.choice(["free", "pro", "team", "enterprise"]),
        "card": f"4111-1111-1111-{rng.randint(1000, 9999)}",
    }


@tracereel.tool
def get_invoice(invoice_id: str) -> dict[str, Any]:
    """An invoice with its charges."""
    _enter("get_invoice", RecordNotFoundError, invoice_id)
    rng = world.rng_for("invoice", invoice_id)
    amount = round(rng.uniform(9, 900), 2)
    return {
        "invoice_id": invoice_id,
        "amount": amount,
        "currency": "EUR" if rng.random() < 0.2 else "USD",
        "charges": 2 if rng.random() < 0.6 else 1,
    }


@tracereel.tool
def issue_refund(invoice_id: str, amount_usd: float) -> dict[str, Any]:
    """Refund part or all of an invoice to the card on file."""
    _enter("issue_refund", PaymentDeclinedError, invoice_id, amount_usd)
    rng = world.rng_for("refund", invoice_id, amount_usd)
    return {"refund_id": f"RF-{rng.randint(100000, 999999)}", "amount_usd": amount_usd, "status": "processed"}


# --- tech support ------------------------------------------------------------------------
@tracereel.tool
def search_kb(query: str) -> list[dict[str, Any]]:
    """Knowledge-base articles matching ``query``."""
    _enter("search_kb", RecordNotFoundError, query)
    if world.current().spec.no_results:
        return []
    rng = world.rng_for("kb", query)
    return [
        {"article_id": f"KB-{rng.randint(100, 999)}", "title": f"Troubleshooting: {query}", "score": round(s, 2)}
        for s in sorted((rng.uniform(0.4, 0.99) for _ in range(rng.randint(1, 3))), reverse=True)
    ]


@tracereel.tool
def run_diagnostic(device_id: str) -> dict[str, Any]:
    """Remote diagnostics of a customer's device."""
    _enter("run_diagnostic", RecordNotFoundError, device_id)
    rng = world.rng_for("diag", device_id)
    healthy = rng.random() < 0.5
    code = 0 if healthy else rng.randint(1, 99)
    return {"device_id": device_id, "status": "ok" if healthy else "fault", "code": code}


@tracereel.tool
def create_ticket(summary: str, priority: str) -> dict[str, Any]:
    """Open a ticket for the engineering on-call."""
    _enter("create_ticket", PaymentDeclinedError, summary, priority)
    return {"ticket_id": f"TCK-{world.rng_for('ticket', summary).randint(10000, 99999)}", "priority": priority}


# --- travel ------------------------------------------------------------------------------
@tracereel.tool
def search_flights(origin: str, destination: str, date: str) -> list[dict[str, Any]]:
    """Flights from ``origin`` to ``destination`` on ``date`` (empty when sold out)."""
    _enter("search_flights", RecordNotFoundError, origin, destination, date)
    if world.current().spec.no_results:
        return []
    rng = world.rng_for("flights", origin, destination, date)
    carriers = ["LH", "BA", "AF", "UA", "KL", "SK"]
    return [
        {
            "flight_id": f"{rng.choice(carriers)}{rng.randint(100, 9999)}",
            "depart": f"{date}T{rng.randint(6, 21):02d}:{rng.choice(['00', '15', '30', '45'])}",
            "price_usd": round(rng.uniform(90, 1200), 2),
        }
        for _ in range(rng.randint(1, 4))
    ]


@tracereel.tool
def book_flight(flight_id: str, passenger: str) -> dict[str, Any]:
    """Book a seat on ``flight_id``."""
    _enter("book_flight", PaymentDeclinedError, flight_id, passenger)
    rng = world.rng_for("booking", flight_id, passenger)
    return {"booking_ref": "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(6)), "flight_id": flight_id}


# --- research ----------------------------------------------------------------------------
@tracereel.tool
def web_search(query: str) -> list[dict[str, Any]]:
    """Web search results for ``query``."""
    _enter("web_search", ServiceUnavailableError, query)
    if world.current().spec.no_results:
        return []
    rng = world.rng_for("web", query)
    sites = ["arxiv.org", "en.wikipedia.org", "acm.org", "nature.com", "blog.example.com"]
    return [
        {"url": f"https://{rng.choice(sites)}/{rng.randint(1000, 9999)}", "title": f"{query} ({i + 1})"}
        for i in range(rng.randint(2, 4))
    ]


@tracereel.tool
def fetch_page(url: str) -> dict[str, Any]:
    """The text of a web page."""
    _enter("fetch_page", RecordNotFoundError, url)
    rng = world.rng_for("page", url)
    text = f"Findings from {url} show an effect size of {rng.uniform(0.1, 0.9):.2f}."
    return {"url": url, "text": text, "words": 1200}


# The tools each domain agent may call, by the name its LLM uses.
TOOLS: dict[str, Any] = {
    f.__name__: f
    for f in (
        lookup_customer,
        get_invoice,
        issue_refund,
        search_kb,
        run_diagnostic,
        create_ticket,
        search_flights,
        book_flight,
        web_search,
        fetch_page,
    )
}
