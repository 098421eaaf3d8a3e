"""An agent whose production failures form a cluster, importable by name (``cluster_agents:answer``) like user code.

``FIXED`` is the change a developer makes after reading the cluster: an unknown order is answered,
not raised.
"""

from __future__ import annotations

import tracereel

FIXED: dict[str, bool] = {}


@tracereel.tool
def find_order(order_id: str) -> dict:
    if order_id.startswith("X"):
        raise KeyError(f"order {order_id} is not in the orders table")
    return {"order_id": order_id, "status": "shipped"}


@tracereel.agent(name="orders")
def answer(question: str, order_id: str) -> str:
    try:
        order = find_order(order_id)
    except KeyError:
        if FIXED.get("unknown_order"):
            return f"there is no order {order_id}"
        raise
    return f"order {order_id} is {order['status']}"
