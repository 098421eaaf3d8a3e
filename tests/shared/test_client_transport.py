"""The collector client's transport (requests): the error types it raises, each with the reason a person needs."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import RunningCollector, start_collector
from tracereel.client import CollectorClient, CollectorError, CollectorUnavailable, NotFound, Unauthorized
from tracereel.constants import API_PREFIX

KEY = "tr-transport-key-91b2"


@pytest.fixture
def keyed(store: Any) -> Iterator[RunningCollector]:
    running, _ = start_collector(store, api_key=KEY)
    yield running
    running.stop()


def test_no_collector_is_unavailable_with_the_network_reason(unused_port: int):
    url = f"http://127.0.0.1:{unused_port}"
    with pytest.raises(CollectorUnavailable) as caught:
        CollectorClient(url, timeout=5).get(f"{API_PREFIX}/traces")
    refused = f"[Errno {errno.ECONNREFUSED}] {os.strerror(errno.ECONNREFUSED)}"
    assert caught.value.reason == refused
    assert f"Cannot reach the collector at {url} ({refused})" in str(caught.value)


def test_a_wrong_key_is_unauthorized_and_the_right_one_reads(keyed: RunningCollector):
    with pytest.raises(Unauthorized) as caught:
        CollectorClient(keyed.url, api_key="tr-wrong").get(f"{API_PREFIX}/traces")
    assert caught.value.status == 401 and "TRACEREEL_API_KEY" in str(caught.value)
    assert CollectorClient(keyed.url, api_key=KEY).get(f"{API_PREFIX}/traces", limit=1)["traces"] == []


def test_unknown_paths_and_bad_parameters_carry_the_servers_message(collector: RunningCollector):
    client = CollectorClient(collector.url)
    with pytest.raises(NotFound) as missing:
        client.get(f"{API_PREFIX}/traces/{'0' * 32}")
    assert missing.value.status == 404 and str(missing.value)
    with pytest.raises(CollectorError) as bad:
        client.get(f"{API_PREFIX}/traces", limit="lots")
    assert bad.value.status in (400, 422)
    assert "limit" in str(bad.value)
