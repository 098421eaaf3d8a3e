"""What the benches share: a real collector (uvicorn on 127.0.0.1, embedded chDB) in this process."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

__all__ = ["start_collector"]


def start_collector(store_dir: str) -> tuple[str, Any, Any]:
    """Serve a collector over a fresh store in ``store_dir``; returns (url, uvicorn server, store)."""
    import uvicorn

    from tracereel.collector import CollectorSettings, Store, create_app

    store = Store.open(f"chdb://{store_dir}")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))  # kept bound and handed to uvicorn: no other process can take the port
    port = int(sock.getsockname()[1])
    app = create_app(CollectorSettings(host="127.0.0.1", port=port, store=store.url), store)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.02)  # a bench, not a test: it may poll
    return f"http://127.0.0.1:{port}", server, store
