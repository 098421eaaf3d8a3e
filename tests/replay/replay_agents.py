"""Agents the replay tests record and replay: importable by name (``replay_agents:...``) like user code.

Tool and LLM bodies log themselves in BODY_RUNS; while ``ARMED`` is set, a body that runs
(other than those in ``LIVE_OK``) fails the test: replay must serve them from the recording.
``BEHAVIOUR`` lets a test change the code between recording and replay, as a developer would.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

import pytest

import tracereel

BODY_RUNS: list[str] = []
OUTBOX: list[dict] = []
SEEN_ERRORS: list[tuple[str, str]] = []
AGENT_RUNS: list[str] = []
ARMED = threading.Event()
LIVE_OK: set[str] = set()
BEHAVIOUR: dict[str, object] = {}
_lock = threading.Lock()
_price_calls = {"n": 0}


def reset() -> None:
    """Forget every run; code behaves as recorded."""
    BODY_RUNS.clear()
    OUTBOX.clear()
    SEEN_ERRORS.clear()
    AGENT_RUNS.clear()
    ARMED.clear()
    LIVE_OK.clear()
    BEHAVIOUR.clear()
    _price_calls["n"] = 0


def _body(name: str) -> None:
    with _lock:
        BODY_RUNS.append(name)
    if ARMED.is_set() and name not in LIVE_OK:
        pytest.fail(f"the body of {name} ran during replay: it must be served from the recording")


class PaymentDeclined(Exception):
    """An exception whose __init__ does not take a message, as many SDK errors do."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"card declined ({code}): {reason}")
        self.code = code


@dataclass
class Order:
    order_id: str
    total: float
    items: list[str]


# --- tools and the LLM (a fake provider: an edge we do not own) -----------------------------


@tracereel.tool
def lookup_order(order_id: str) -> Order:
    _body("lookup_order")
    return Order(order_id=order_id, total=round(random.uniform(10, 99), 2), items=["kettle", "mug"])


@tracereel.tool
def check_inventory(sku: str) -> int:
    _body("check_inventory")
    raise TimeoutError(f"inventory service timed out after 5s looking up {sku}")


@tracereel.tool
def charge_card(amount: float) -> str:
    _body("charge_card")
    raise PaymentDeclined(51, "insufficient funds")


@tracereel.tool
def send_email(to: str, body: str) -> dict:
    """A side effect: a real run sends the email (here: appends to OUTBOX)."""
    _body("send_email")
    OUTBOX.append({"to": to, "body": body})
    return {"message_id": str(uuid.uuid4()), "sent_at": time.time()}


@tracereel.tool
def search_kb(query: str) -> list[str]:
    _body("search_kb")
    return [f"kb article {random.randint(1, 999)} about {query}"]


@tracereel.llm(model="fake-gpt", provider="fake")
def complete(messages: list[dict], temperature: float = 0.2) -> dict:
    _body("complete")
    last = messages[-1]["content"]
    return {
        "content": f"Dear customer, about '{last[:40]}': {random.choice(['refunded', 'replaced', 'escalated'])}.",
        "usage": {"input_tokens": len(last), "output_tokens": 12},
    }


# --- a support agent with everything in one run ---------------------------------------------


@tracereel.agent(name="support", version="1.0")
def support(ticket: str, customer: str) -> dict:
    AGENT_RUNS.append("support")
    request_id = str(uuid.uuid4())
    received = datetime.now().isoformat()
    started = time.time()
    jitter = random.random()
    order = lookup_order(str(BEHAVIOUR.get("order_id", "A-1001")))
    notes = []
    if BEHAVIOUR.get("extra_search"):
        notes += search_kb("refund policy")
    try:
        check_inventory("KETTLE-1")
    except TimeoutError as exc:
        SEEN_ERRORS.append((type(exc).__name__, str(exc)))
        notes.append("inventory unknown")
    try:
        charge_card(order.total)
    except PaymentDeclined as exc:
        SEEN_ERRORS.append((type(exc).__name__, str(exc)))
        notes.append("payment declined")
    tool_name = BEHAVIOUR.get("lookup_tool")
    if tool_name == "search_kb":
        notes += search_kb(ticket)
    reply = complete([{"role": "system", "content": "be kind"}, {"role": "user", "content": ticket}])
    receipt = None
    if not BEHAVIOUR.get("skip_email"):
        receipt = send_email(customer, reply["content"] + f" (ref {request_id[:8]})")
    return {
        "request_id": request_id,
        "received": received,
        "started": started,
        "jitter": jitter,
        "order_total": order.total,
        "order_type": type(order).__name__,
        "notes": notes,
        "reply": reply["content"] + str(BEHAVIOUR.get("reply_suffix", "")),
        "receipt": receipt,
    }


# --- async agent with parallel tool calls ---------------------------------------------------


@tracereel.tool
async def fetch_price(sku: str) -> dict:
    _body("fetch_price")
    with _lock:
        _price_calls["n"] += 1
        n = _price_calls["n"]
    # Later calls finish first: the recording's finishing order is not its start order.
    await asyncio.sleep(0.05 / n)
    return {"sku": sku, "price": round(random.uniform(1, 50), 2), "call": n}


@tracereel.agent(name="pricing")
async def pricing(skus: list[str]) -> dict:
    AGENT_RUNS.append("pricing")
    if BEHAVIOUR.get("reverse"):
        skus = list(reversed(skus))
    prices = await asyncio.gather(*(fetch_price(sku) for sku in skus))
    await asyncio.sleep(0.001)  # asyncio timers keep working during replay
    summary = await asyncio.gather(fetch_price("TOTAL"), fetch_price(min(skus)))
    return {"prices": prices, "summary": summary, "checked_at": time.time()}


# --- threads ---------------------------------------------------------------------------------


_pages_fetched: dict[str, threading.Event] = {}  # url -> set once its page is fetched, per crawl
_later_pages: threading.Barrier | None = None  # the pages after the second, per crawl


@tracereel.tool
def fetch_page(url: str) -> str:
    _body("fetch_page")
    # Page 1 is not done before page 2 is fetched: the two calls certainly overlap, on two
    # threads (a sleep only made that likely).
    second = _pages_fetched.get(url[:-1] + "2") if url.endswith("1") else None
    if second is not None:
        assert second.wait(60), "page 2 was never fetched"
    # The later pages wait until each of them has started: whichever thread the scheduler runs first, their
    # calls overlap in the recording, so replay matches them in any order (non-overlapping calls are matched
    # in recorded order, and threads may start them in another order the next time).
    if not url.endswith(("1", "2")) and _later_pages is not None:
        _later_pages.wait(60)
    page = f"<html>{url} {uuid.uuid4().hex[:6]}</html>"
    if url in _pages_fetched:
        _pages_fetched[url].set()
    return page


@tracereel.agent(name="crawler")
def crawler(urls: list[str]) -> list[int]:
    AGENT_RUNS.append("crawler")
    urls = urls[: int(BEHAVIOUR.get("max_pages", len(urls)))]  # type: ignore[call-overload]
    global _later_pages
    _pages_fetched.clear()
    _pages_fetched.update({url: threading.Event() for url in urls})
    later = [url for url in urls if not url.endswith(("1", "2"))]
    _later_pages = threading.Barrier(len(later)) if later else None
    with ThreadPoolExecutor(max_workers=3) as pool:
        # Each worker runs in a copy of the agent's context, so its calls belong to this task.
        if BEHAVIOUR.get("no_context"):
            futures = [pool.submit(fetch_page, url) for url in urls]  # workers lose the task's context
        else:
            futures = [pool.submit(contextvars.copy_context().run, fetch_page, url) for url in urls]
        pages = [f.result() for f in futures]
    return [len(p) for p in pages] + [len(set(pages))]


# --- sub-agents ------------------------------------------------------------------------------


@tracereel.agent(name="researcher")
def researcher(topic: str) -> list[str]:
    AGENT_RUNS.append("researcher")
    ticket = uuid.uuid4().hex[:6]
    found = search_kb(topic)
    summary = complete([{"role": "user", "content": f"summarise {found}"}], temperature=0.0)
    stamp = time.time()  # drawn after the sub-agent's last call
    return [*found, summary["content"], f"{ticket}@{stamp:.3f}"]


@tracereel.agent(name="writer")
def writer(notes: list[str]) -> str:
    AGENT_RUNS.append("writer")
    draft = complete([{"role": "user", "content": "write from " + "; ".join(notes)}])
    return draft["content"].upper()


@tracereel.agent(name="supervisor")
def supervisor(question: str) -> dict:
    AGENT_RUNS.append("supervisor")
    case = str(uuid.uuid4())
    notes = researcher(question)
    text = writer(notes)
    return {"answer": text, "notes": len(notes), "case": case, "closed": time.time(), "luck": random.random()}


# --- an agent whose process dies mid-run -----------------------------------------------------


@tracereel.tool
def crash_now(reason: str) -> None:
    _body("crash_now")
    if os.environ.get("REPLAY_TEST_CRASH") == "1":
        from opentelemetry import trace

        print(f"TRACE {trace.get_current_span().get_span_context().trace_id:032x}", flush=True)
        tracereel.flush()  # what was exported before the crash is all the collector will ever get
        os._exit(3)


@tracereel.agent(name="batch")
def batch(job: str) -> str:
    AGENT_RUNS.append("batch")
    first = search_kb(job)
    order = lookup_order("B-7")
    crash_now("out of memory")
    send_email("ops@example.com", f"{job} done: {first} {order.total}")
    return "done"


# --- repeated identical calls ----------------------------------------------------------------

_job_polls = {"n": 0}


@tracereel.tool
def job_status(job_id: str) -> str:
    _body("job_status")
    _job_polls["n"] += 1
    return "done" if _job_polls["n"] >= 3 else "pending"


@tracereel.agent(name="poller")
def poller(job_id: str) -> list[str]:
    AGENT_RUNS.append("poller")
    seen = [job_status(job_id)]
    while seen[-1] != "done":
        seen.append(job_status(job_id))  # the same call, three times: served in recorded order
    return seen
