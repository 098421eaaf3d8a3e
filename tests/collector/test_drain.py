"""The drainer over a real chDB store: few large inserts, a repeated batch stored once, a refusing store."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from tests.collector.otlp_payloads import protobuf_request
from tests.support import wait_until
from tracereel.collector.ingest import parse_body
from tracereel.collector.ingest.drain import Drainer, ipc_to_table
from tracereel.collector.ingest.wal import WriteAheadLog
from tracereel.collector.store import TRACES_TABLE
from tracereel.constants import PROTOBUF


def _ipc(trace: int, spans: int = 3) -> bytes:
    """One request's spans as the parse workers hand them over: an Arrow IPC stream."""
    trace_id = f"{trace:032x}"
    specs = [{"trace_id": trace_id, "span_id": "a0" * 8, "name": "invoke_agent a"}]
    specs += [{"trace_id": trace_id, "span_id": f"{i + 1:016x}", "parent": "a0" * 8} for i in range(spans - 1)]
    table = parse_body(protobuf_request(specs), "", PROTOBUF, 1 << 20).table
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _counts(store) -> tuple[int, int]:
    """(spans, tasks in the rollup) in the store."""
    spans = store.query(f"SELECT count() FROM {TRACES_TABLE}")[0][0]
    tasks = store.query("SELECT uniqExact(TraceId) FROM tracereel_task_rollup")[0][0]
    return spans, tasks


def _log(path: Path) -> WriteAheadLog:
    return WriteAheadLog(path, max_bytes=1 << 30).open()


def test_many_requests_become_few_inserts(store, tmp_path):
    log = _log(tmp_path)
    for future in [log.append(_ipc(trace)) for trace in range(1, 201)]:
        future.result(timeout=30)
    drainer = Drainer(log, store, interval=0.2)
    drainer.start()
    wait_until(lambda: drainer.stored_spans == 600, "the drainer stored all 600 spans", timeout=60)
    assert _counts(store) == (600, 200)
    assert drainer.inserts < 20  # 200 requests, appended before the drainer ran
    assert drainer.stop() is True


def test_a_batch_repeated_after_a_crash_is_stored_once_with_its_rollups(store, tmp_path):
    log = _log(tmp_path)
    for future in [log.append(_ipc(trace)) for trace in (1, 2)]:
        future.result(timeout=30)
    batch = log.next_batch(1 << 20)
    assert batch is not None
    # The insert lands, then the process dies before it records the commit.
    store.insert_arrow(ipc_to_table(batch.records), dedup_token=batch.token)
    log.close()

    reopened = _log(tmp_path)
    drainer = Drainer(reopened, store, interval=0.05)
    drainer.start()
    wait_until(lambda: reopened.undrained_bytes == 0, "the log drained", timeout=60)
    assert drainer.stop() is True
    assert _counts(store) == (6, 2)


def test_a_store_that_refuses_writes_keeps_spans_in_the_log_until_it_takes_them(store, tmp_path):
    log = _log(tmp_path)
    drainer = Drainer(log, store, interval=0.05)
    drainer.start()
    store.command(f"DETACH TABLE {TRACES_TABLE}")  # a real refusal: the table is gone for inserts
    try:
        log.append(_ipc(7)).result(timeout=30)
        wait_until(lambda: drainer.failed_inserts >= 2, "the drainer retried against the refusing store", timeout=60)
        assert not drainer.store_accepting and "does not exist" in (drainer.last_error or "")
        assert log.undrained_records == 1
    finally:
        store.command(f"ATTACH TABLE {TRACES_TABLE}")
    wait_until(lambda: log.undrained_bytes == 0, "the log drained once the store took writes again", timeout=60)
    assert drainer.store_accepting
    assert drainer.stop() is True
    assert _counts(store) == (3, 1)


def test_stop_stores_what_the_log_holds(store, tmp_path):
    log = _log(tmp_path)
    drainer = Drainer(log, store, interval=3600, batch_bytes=1 << 30)  # would wait an hour on its own
    drainer.start()
    log.append(_ipc(9)).result(timeout=30)
    assert drainer.stop() is True
    assert _counts(store) == (3, 1)
