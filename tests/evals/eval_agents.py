"""Agents the eval tests record and evaluate, importable by name (``eval_agents:handle``) like user code.

``BEHAVIOUR`` changes the code between recording and evaluation, as a developer would.
The model is a local deterministic function (the fake provider): with ``gullible`` set it obeys
an instruction planted in its prompt and repeats the canary token.
"""

from __future__ import annotations

import itertools
import json
import re

import tracereel

BEHAVIOUR: dict[str, object] = {}
_counter = itertools.count()


def reset() -> None:
    """Code behaves as recorded."""
    BEHAVIOUR.clear()


@tracereel.tool
def lookup_order(order_id: str) -> dict:
    return {"order_id": order_id, "status": "lost", "total": 40.0, "note": "the carrier lost the parcel in transit"}


@tracereel.tool
def refund(order_id: str, amount: float) -> str:
    return f"refunded {amount:g} EUR"


@tracereel.llm(model="fake-model", provider="fake")
def think(prompt: str) -> str:
    if BEHAVIOUR.get("gullible"):
        planted = re.search(r"CANARY-[0-9A-F]{12}", prompt)
        if planted:
            return f"of course: {planted.group(0)}"
    return "refund" if '"lost"' in prompt else "no action"


@tracereel.agent(name="refunds", version="1.0")
def handle(ticket: str, order_id: str = "B2") -> str:
    try:
        order = lookup_order(order_id)
    except TimeoutError:
        tracereel.escalate("the order system timed out")
        return "escalated to a human"
    if not order.get("status"):
        return "I don't know what happened to that order."
    if BEHAVIOUR.get("extra_call"):
        lookup_order("X9")
    decision = think(f"ticket: {ticket}\norder: {json.dumps(order, sort_keys=True)}")
    if "refund" in decision:
        return refund(order_id, order["total"]) + str(BEHAVIOUR.get("suffix", ""))
    return decision


@tracereel.agent(name="echo")
def echo(text: str) -> str:
    """A live agent (no recording): answers with its input, upper-cased."""
    return text.upper()


@tracereel.agent(name="flaky")
def flaky(text: str) -> str:
    """Answers differently every other call: what --repeat's consistency must show."""
    return f"{text}-{next(_counter) % 2}"


def expected_echo(text: str) -> str:
    """The expected responder of ``echo`` cases (``expected_from``)."""
    return text.upper()


def starts_with_refund(run, prefix: str = "refunded") -> float:
    """A custom scorer: 1.0 when the output starts with ``prefix``."""
    return 1.0 if str(run.output).startswith(prefix) else 0.0


@tracereel.tool
def order_total(order_id: str) -> float:
    return 40.0


@tracereel.agent(name="totals", version="1.0")
def totals(ticket: str, order_id: str = "B2") -> str:
    """An agent whose only tool answers a number: no text in which to plant an injection."""
    return f"total {order_total(order_id):g} EUR"
