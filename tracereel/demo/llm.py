"""Offline, scripted LLMs for the demo: OpenAI-shaped replies with token usage, no network.

Each provider is one module-level ``@tracereel.llm`` function taking ``model``,
``messages`` and ``tools``, so calls record like real ones (``chat {model}``, tokens) and
replay can serve them. The reply is a pure function of the conversation, the model and the
task's :mod:`world` rolls: the scripted "model" reads the system prompt (``agent=<role>``),
the user's request and the tool results so far, and either asks for the next tool call or
answers. Models differ in how often they hallucinate or repeat personal data.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import tracereel
from tracereel.demo import world

__all__ = [
    "MODELS",
    "RateLimitError",
    "anthropic_chat",
    "chat",
    "openai_chat",
    "selfhosted_chat",
]

Message = dict[str, Any]


class RateLimitError(RuntimeError):
    """The provider answered 429; the caller may retry the same request."""


# model → (provider, hallucination rate, personal-data leak rate). The last model is a
# self-hosted fine-tune that no public price table lists, so cost coverage stays below 1.
MODELS: dict[str, tuple[str, float, float]] = {
    "gpt-4o": ("openai", 0.06, 0.05),
    "gpt-4o-mini": ("openai", 0.16, 0.14),
    "claude-3-5-sonnet": ("anthropic", 0.05, 0.03),
    "acme-llama-3.1-70b-ft": ("vllm", 0.22, 0.08),
}

# What the providers report back as the serving model (dated snapshots, as the real APIs do).
_SNAPSHOTS = {
    "gpt-4o": "gpt-4o-2024-08-06",
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "claude-3-5-sonnet": "claude-3-5-sonnet-20241022",
}

_ID = re.compile(r"\b(?:[A-Z]{2,3}-\d{3,6}|[A-Z]{2}\d{3,4}|[A-Z]{6})\b|https?://[^\s,;)]*[^\s,;).:]")
_CARD = re.compile(r"\b\d{4}-\d{4}-\d{4}-\d{4}\b")


def _role(messages: list[Message]) -> str:
    first = messages[0].get("content", "") if messages else ""
    match = re.match(r"agent=(\w+)", str(first))
    return match.group(1) if match else "assistant"


def _request(messages: list[Message]) -> str:
    return next((str(m.get("content", "")) for m in messages if m.get("role") == "user"), "")


def _history(messages: list[Message]) -> list[tuple[str, dict[str, Any], Any]]:
    """(tool, arguments, result or {"error": ...}) for each tool result in the conversation."""
    asked: dict[str, tuple[str, dict[str, Any]]] = {}
    out = []
    for m in messages:
        for call in m.get("tool_calls") or ():
            asked[call["id"]] = (call["function"]["name"], json.loads(call["function"]["arguments"]))
        if m.get("role") == "tool" and m.get("tool_call_id") in asked:
            name, args = asked[m["tool_call_id"]]
            out.append((name, args, json.loads(m["content"])))
    return out


def _ok(history: list[tuple[str, dict[str, Any], Any]], tool: str) -> list[Any]:
    return [result for name, _, result in history if name == tool and not _failed(result)]


def _failed(result: Any) -> bool:
    return isinstance(result, dict) and "error" in result


def _repeat_empty_search(history: list[tuple[str, dict[str, Any], Any]]) -> tuple[str, dict[str, Any]] | None:
    # A classic agent failure: an empty search result, and the model asks the same again.
    if history and history[-1][2] == []:
        return history[-1][0], history[-1][1]
    return None


Action = tuple[str, dict[str, Any]] | str  # a tool call, or the final answer


def _billing(request: str, history: list[tuple[str, dict[str, Any], Any]]) -> Action:
    customer = re.search(r"\bC-\d+", request)
    invoice = re.search(r"\bINV-\d+", request)
    amount = re.search(r"\$(\d+(?:\.\d+)?)", request)
    customers = _ok(history, "lookup_customer")
    if customer and not customers:
        return "lookup_customer", {"customer_id": customer.group(0)}
    invoices = _ok(history, "get_invoice")
    if invoice and not invoices:
        return "get_invoice", {"invoice_id": invoice.group(0)}
    refunds = _ok(history, "issue_refund")
    if invoice and "refund" in request.lower() and not refunds:
        value = float(amount.group(1)) if amount else invoices[0]["amount"]
        return "issue_refund", {"invoice_id": invoice.group(0), "amount_usd": value}
    card = customers[0]["card"][-4:] if customers else "on file"
    if refunds:
        return (
            f"Refund {refunds[0]['refund_id']} of ${refunds[0]['amount_usd']:.2f}"
            f" for {invoice.group(0) if invoice else 'your invoice'} is on its way to the card ending {card};"
            " expect it within 5 business days."
        )
    if invoices:
        inv = invoices[0]
        return (
            f"Invoice {inv['invoice_id']} totals {inv['amount']:.2f} {inv['currency']} and was charged "
            f"{inv['charges']} time(s) to the card ending {card}."
        )
    return f"Your account is on its current plan, and the card ending {card} is on file."


def _tech_support(request: str, history: list[tuple[str, dict[str, Any], Any]]) -> Action:
    repeat = _repeat_empty_search(history)
    if repeat:
        return repeat
    topic = re.sub(r"\s+", " ", re.sub(r"[^a-z0-9\- ]", "", request.lower().split(":", 1)[-1])).strip()
    articles = _ok(history, "search_kb")
    if not articles and not any(n == "search_kb" for n, _, _ in history):
        return "search_kb", {"query": " ".join(topic.split()[:5])}
    device = re.search(r"\bD-\d+", request)
    diagnostics = _ok(history, "run_diagnostic")
    if device and not any(n == "run_diagnostic" for n, _, _ in history):
        return "run_diagnostic", {"device_id": device.group(0)}
    tickets = _ok(history, "create_ticket")
    if diagnostics and diagnostics[0]["status"] == "fault" and not tickets:
        code = diagnostics[0]["code"]
        return "create_ticket", {
            "summary": f"{device.group(0) if device else 'device'} reports fault code {code}",
            "priority": "high" if code > 50 else "normal",
        }
    refs = ", ".join(a["article_id"] for a in (articles[0] if articles else []))
    answer = f"Following {refs or 'our troubleshooting guide'}: restart the device and update its firmware."
    if tickets:
        answer += f" I opened {tickets[0]['ticket_id']} for an engineer to follow up."
    return answer


def _travel(request: str, history: list[tuple[str, dict[str, Any], Any]]) -> Action:
    repeat = _repeat_empty_search(history)
    if repeat:
        return repeat
    route = re.search(r"from ([A-Z]{3}) to ([A-Z]{3}) on (\d{4}-\d{2}-\d{2})", request)
    customer = re.search(r"\bC-\d+", request)
    if not route:
        return "I need a departure airport, a destination and a date to search for flights."
    searches = _ok(history, "search_flights")
    if not searches:
        origin, destination, date = route.groups()
        return "search_flights", {"origin": origin, "destination": destination, "date": date}
    cheapest = min(searches[-1], key=lambda f: f["price_usd"])
    bookings = _ok(history, "book_flight")
    if not bookings:
        passenger = customer.group(0) if customer else "guest"
        return "book_flight", {"flight_id": cheapest["flight_id"], "passenger": passenger}
    return (
        f"Booked {cheapest['flight_id']} departing {cheapest['depart']} for ${cheapest['price_usd']:.2f}; "
        f"booking reference {bookings[0]['booking_ref']}."
    )


def _research(request: str, history: list[tuple[str, dict[str, Any], Any]]) -> Action:
    repeat = _repeat_empty_search(history)
    if repeat:
        return repeat
    topic = request.split(":", 1)[-1].strip().rstrip(".")
    results = _ok(history, "web_search")
    if not results:
        return "web_search", {"query": topic}
    tried = {args["url"] for name, args, _ in history if name == "fetch_page"}
    for hit in results[0][:2]:
        if hit["url"] not in tried:
            return "fetch_page", {"url": hit["url"]}
    pages = _ok(history, "fetch_page")
    if not pages:
        # Nothing could be read, and the model answers anyway from what it "remembers".
        return f"Studies on {topic} agree on a moderate effect (https://journals.example.org/{len(topic) * 37})."
    cites = "; ".join(p["url"] for p in pages)
    return f"On {topic}: {' '.join(p['text'] for p in pages)} Sources: {cites}."


def _router(request: str) -> str:
    text = request.lower()
    for route, words in (
        ("billing", ("refund", "invoice", "charged", "billing", "bill ")),
        ("tech_support", ("device", "router", "wifi", "login", "error", "boot", "crash")),
        ("travel", ("flight", "trip", "travel")),
        ("research", ("research", "studies", "paper")),
    ):
        if any(w in text for w in words):
            return json.dumps({"route": route})
    return json.dumps({"route": "unknown"})


def _judge(request: str) -> str:
    """Groundedness: the share of the answer's references (ids, URLs) found in the evidence."""
    payload = json.loads(request)
    claims = _ID.findall(payload["answer"])
    evidence = json.dumps(payload["evidence"])
    jitter = world.rng_for("judge", payload["answer"]).uniform(-0.04, 0.04)
    if not claims:
        score = 0.6 + jitter
    else:
        score = 0.95 * sum(c in evidence for c in claims) / len(claims) + jitter
    return json.dumps({"groundedness": round(min(1.0, max(0.0, score)), 3)})


_SCRIPTS: dict[str, Callable[[str, list[tuple[str, dict[str, Any], Any]]], Action]] = {
    "billing": _billing,
    "tech_support": _tech_support,
    "travel": _travel,
    "research": _research,
}


def _degrade(model: str, answer: str, history: list[tuple[str, dict[str, Any], Any]], seed: str) -> str:
    """Apply the model's failure modes to a final answer, as the task's world rolls dictate."""
    _, hallucination_rate, leak_rate = MODELS.get(model, ("", 0.0, 0.0))
    spec = world.current().spec
    rng = world.rng_for("fabricate", seed)
    if spec.quality < hallucination_rate:
        fake = [f"KB-{rng.randint(1000, 9999)}", f"RF-{rng.randint(100000, 999999)}", f"POL-{rng.randint(100, 999)}"]
        answer += f" This is covered by {fake[0]}, precedent {fake[1]} and policy {fake[2]}."
    if spec.leak < leak_rate:
        cards = [r["card"] for n, _, r in history if n == "lookup_customer" and not _failed(r)]
        if cards:
            answer += f" (card on file: {cards[0]})"
    return answer


def _respond(model: str, messages: list[Message], tools: list[str] | None) -> dict[str, Any]:
    """The scripted reply to ``messages``, OpenAI chat-completion shaped, with usage."""
    conversation = json.dumps(messages, sort_keys=True)
    rng = world.rng_for(model, conversation)
    w = world.current()
    world.step_delay("llm", rng)
    if w.llm_rate_limited():
        raise RateLimitError(f"429 Too Many Requests from {MODELS.get(model, ('provider',))[0]}: rate limit reached")
    role, request = _role(messages), _request(messages)
    message: dict[str, Any] = {"role": "assistant", "content": None}
    if role == "router":
        message["content"] = _router(request)
    elif role == "judge":
        message["content"] = _judge(request)
    elif role in _SCRIPTS:
        history = _history(messages)
        action = _SCRIPTS[role](request, history)
        if isinstance(action, str):
            message["content"] = _degrade(model, action, history, conversation)
        else:
            name, args = action
            call_id = f"call_{rng.getrandbits(48):012x}"
            message["tool_calls"] = [
                {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
            ]
    else:
        message["content"] = "How can I help?"
    reply_text = json.dumps(message)
    prompt_tokens = len(conversation) // 4 + 40 * len(tools or ()) + 12
    completion_tokens = len(reply_text) // 4 + rng.randint(3, 40)
    return {
        "id": f"chatcmpl-{rng.getrandbits(64):016x}",
        "object": "chat.completion",
        "model": _SNAPSHOTS.get(model, model),
        "choices": [
            {"index": 0, "message": message, "finish_reason": "tool_calls" if message.get("tool_calls") else "stop"}
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


@tracereel.llm(provider="openai")
def openai_chat(model: str, messages: list[Message], tools: list[str] | None = None) -> dict[str, Any]:
    """A scripted OpenAI chat completion."""
    return _respond(model, messages, tools)


@tracereel.llm(provider="anthropic")
def anthropic_chat(model: str, messages: list[Message], tools: list[str] | None = None) -> dict[str, Any]:
    """A scripted Anthropic completion (returned OpenAI-shaped, as a gateway would)."""
    return _respond(model, messages, tools)


@tracereel.llm(provider="vllm")
def selfhosted_chat(model: str, messages: list[Message], tools: list[str] | None = None) -> dict[str, Any]:
    """A scripted completion from a self-hosted model behind vLLM."""
    return _respond(model, messages, tools)


_BY_PROVIDER = {"openai": openai_chat, "anthropic": anthropic_chat, "vllm": selfhosted_chat}


def chat(model: str, messages: list[Message], tools: list[str] | None = None) -> dict[str, Any]:
    """Send ``messages`` to ``model`` through its provider's (scripted) client."""
    provider = MODELS[model][0]
    return _BY_PROVIDER[provider](model=model, messages=messages, tools=tools)
