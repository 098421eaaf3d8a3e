"""The one HTTP stack of tracereel's own calls: ``requests`` (and urllib3 beneath it).

The collector client, the SDK's kill-switch poller, the LLM judge and monitor delivery all send
through a :func:`session`, and say why a request got no answer with :func:`network_reason`.
``requests`` is already in the SDK's light install (the stock OTLP/HTTP exporter sends with it).
"""

from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from tracereel.constants import VERSION

__all__ = ["USER_AGENT", "network_reason", "session"]

USER_AGENT = f"tracereel/{VERSION}"


def session() -> requests.Session:
    """A ``requests`` session that sends tracereel's user agent (proxy and CA settings apply as usual)."""
    http = requests.Session()
    http.headers["user-agent"] = USER_AGENT
    # A kept connection the server has just closed for idleness (uvicorn: after 5 s) fails the next
    # request with "connection reset"; an idempotent request is sent again, on a new connection. Nothing
    # else is retried here: answers (status codes) are the caller's to judge, and a POST is never repeated.
    retry = Retry(total=2, connect=2, read=2, redirect=0, status=0, other=0, backoff_factor=0, raise_on_status=False)
    adapter = HTTPAdapter(max_retries=retry)
    http.mount("http://", adapter)
    http.mount("https://", adapter)
    return http


def network_reason(exc: BaseException) -> str:
    """The network's own words for a failed request (``[Errno 111] Connection refused``), not urllib3's wrapping.

    ``requests`` wraps the socket's error in two or three layers whose text repeats the URL; the
    innermost error with an errno is what a person can act on. Anything else: the innermost message.
    """
    seen: set[int] = set()
    innermost: BaseException = exc
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno is not None:
            return str(current)
        innermost = current
        reason = getattr(current, "reason", None)
        nested = [a for a in current.args if isinstance(a, BaseException)]
        for found in (current.__context__, current.__cause__, reason, *nested):
            if isinstance(found, BaseException):
                stack.append(found)
    return str(innermost) or type(innermost).__name__
