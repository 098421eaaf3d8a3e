"""The write-ahead log on a real disk: order, group commit, batches, quota, and recovery after kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tracereel.collector.ingest.wal import LogClosed, LogFull, WriteAheadLog


def _open(path: Path, **kwargs) -> WriteAheadLog:
    kwargs.setdefault("max_bytes", 1 << 30)
    return WriteAheadLog(path, **kwargs).open()


def _append_all(log: WriteAheadLog, payloads: list[bytes]) -> None:
    futures = [log.append(p) for p in payloads]
    for future in futures:
        future.result(timeout=30)


def _drain(log: WriteAheadLog, max_bytes: int = 1 << 20) -> list[bytes]:
    out = []
    while (batch := log.next_batch(max_bytes)) is not None:
        out.extend(batch.records)
        log.commit(batch)
    return out


def test_records_come_back_in_order_in_batches_and_are_gone_once_committed(tmp_path):
    log = _open(tmp_path)
    payloads = [f"record {i}".encode() * (i + 1) for i in range(50)]
    _append_all(log, payloads)
    assert log.undrained_records == 50
    assert log.undrained_bytes == sum(16 + len(p) for p in payloads)
    assert log.lag_seconds() >= 0
    first = log.next_batch(max_bytes=300)
    assert first is not None and first.records == payloads[: len(first.records)]
    assert 1 < len(first.records) < 50 and sum(map(len, first.records)) <= 300
    log.commit(first)
    assert _drain(log) == payloads[len(first.records) :]
    assert log.undrained_bytes == 0 and log.undrained_records == 0 and log.lag_seconds() == 0.0
    assert log.next_batch(1000) is None
    log.close()
    with pytest.raises(LogClosed):
        log.append(b"late")


def test_concurrent_appends_share_syncs(tmp_path):
    log = _open(tmp_path)
    # Queued together before any is waited on: the writer syncs them in far fewer writes.
    _append_all(log, [b"x" * 100] * 200)
    assert log.appended_records == 200
    assert 1 <= log.syncs < 200
    log.close()


def test_a_batch_not_committed_comes_back_after_a_restart_with_the_same_token(tmp_path):
    log = _open(tmp_path)
    _append_all(log, [b"a", b"b", b"c"])
    batch = log.next_batch(2)
    assert batch is not None and batch.records == [b"a", b"b"]
    log.close()  # "crash" before the commit

    again = _open(tmp_path)
    repeated = again.next_batch(1 << 20)  # a larger limit changes nothing: the same range comes back
    assert repeated is not None
    assert (repeated.records, repeated.token) == (batch.records, batch.token)
    again.commit(repeated)
    assert _drain(again) == [b"c"]
    again.close()


def test_tokens_differ_between_logs_and_ranges(tmp_path):
    one, two = _open(tmp_path / "one"), _open(tmp_path / "two")
    for log in (one, two):
        _append_all(log, [b"same", b"same"])
    b1, b2 = one.next_batch(4), two.next_batch(4)
    assert b1 is not None and b2 is not None and b1.token != b2.token
    one.commit(b1)
    b3 = one.next_batch(4)
    assert b3 is not None and b3.token != b1.token
    for log in (one, two):
        log.close()


def test_segments_rotate_and_drained_ones_are_deleted(tmp_path):
    log = _open(tmp_path, segment_bytes=1000)
    payloads = [bytes([i % 256]) * 300 for i in range(20)]
    for p in payloads:  # one at a time, so the writer checks the segment size between them
        _append_all(log, [p])
    assert len(list(tmp_path.glob("*.wal"))) > 3
    batch = log.next_batch(1 << 20)
    assert batch is not None and len(batch.records) < 20  # a batch stays inside one segment
    log.commit(batch)
    assert _drain(log) == payloads[len(batch.records) :]
    assert len(list(tmp_path.glob("*.wal"))) == 1  # only the segment being written
    log.close()
    reopened = _open(tmp_path, segment_bytes=1000)
    assert reopened.next_batch(1 << 20) is None and reopened.undrained_bytes == 0
    reopened.close()


def test_a_full_log_refuses_appends_until_drained(tmp_path):
    log = _open(tmp_path, max_bytes=1000)
    _append_all(log, [b"x" * 400, b"y" * 400])
    with pytest.raises(LogFull, match="limit 1000"):
        log.append(b"z" * 400)
    assert _drain(log) == [b"x" * 400, b"y" * 400]
    _append_all(log, [b"z" * 400])
    log.close()


def test_one_record_larger_than_the_quota_is_taken_by_an_empty_log(tmp_path):
    log = _open(tmp_path, max_bytes=100)
    _append_all(log, [b"big" * 100])
    assert _drain(log) == [b"big" * 100]
    log.close()


def test_a_torn_tail_is_cut_off_and_earlier_records_kept(tmp_path, caplog):
    log = _open(tmp_path)
    _append_all(log, [b"one", b"two"])
    log.close()
    (segment,) = tmp_path.glob("*.wal")
    size = segment.stat().st_size
    with open(segment, "ab") as handle:
        handle.write(b"\x40\x00\x00\x00half a header and")  # a crash mid-write: never acknowledged
    reopened = _open(tmp_path)
    assert segment.stat().st_size == size
    assert "torn record" in caplog.text
    _append_all(reopened, [b"three"])
    assert _drain(reopened) == [b"one", b"two", b"three"]
    reopened.close()


def test_damage_before_the_end_of_a_closed_segment_is_an_error_not_silent_loss(tmp_path):
    log = _open(tmp_path, segment_bytes=10)
    _append_all(log, [b"first record"])
    _append_all(log, [b"second record"])
    log.close()
    first = sorted(tmp_path.glob("*.wal"))[0]
    data = bytearray(first.read_bytes())
    data[20] ^= 0xFF
    first.write_bytes(bytes(data))
    with pytest.raises(OSError, match="damaged"):
        _open(tmp_path)


_WRITER = textwrap.dedent(
    """
    import sys
    from tracereel.collector.ingest.wal import WriteAheadLog
    log = WriteAheadLog(sys.argv[1], max_bytes=1 << 30, segment_bytes=20_000).open()
    i = 0
    while True:
        futures = [log.append(f"{i + k:08d}".encode() * 20) for k in range(5)]
        for f in futures:
            f.result()
        i += 5
        print(i, flush=True)  # acknowledged: every record below i is on disk
    """
)


def test_kill_9_loses_nothing_acknowledged(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True, bufsize=1
    )
    assert proc.stdout is not None
    acked = 0
    try:
        for line in proc.stdout:
            acked = int(line)
            if acked >= 500:
                break
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    log = _open(tmp_path, segment_bytes=20_000)
    numbers = [int(r[:8]) for r in _drain(log)]
    log.close()
    assert numbers == list(range(len(numbers)))  # in order, no gap, no repeat
    assert len(numbers) >= acked


def test_wait_returns_when_enough_is_waiting_or_the_log_closes(tmp_path):
    log = _open(tmp_path)
    assert log.wait(min_bytes=1, timeout=0.01) is False
    _append_all(log, [b"x" * 20])
    assert log.wait(min_bytes=10, timeout=30) is True
    assert log.wait(min_bytes=1 << 30, timeout=0.01) is False
    log.close()
    assert log.wait(min_bytes=1 << 30, timeout=60) is True  # closing: drain what is left
    assert _drain(log) == [b"x" * 20]
    assert log.wait(min_bytes=1, timeout=60) is False  # closed and drained


def test_a_second_process_cannot_open_a_log_in_use(tmp_path):
    log = _open(tmp_path)
    script = (
        "from tracereel.collector.ingest.wal import WriteAheadLog\n"
        f"WriteAheadLog({str(tmp_path)!r}, max_bytes=1).open()"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "in use by another collector" in result.stderr
    log.close()
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)  # released on close


def test_pending_reads_the_records_not_yet_stored(tmp_path):
    log = _open(tmp_path, segment_bytes=40)
    _append_all(log, [b"one", b"two"])
    _append_all(log, [b"three"])
    batch = log.next_batch(3)
    assert batch is not None
    log.commit(batch)
    assert list(log.pending()) == [b"two", b"three"]
    log.close()
