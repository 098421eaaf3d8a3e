import time

import tracereel


def test_sdk_span_reaches_the_store(sdk_to):
    @tracereel.agent(name="hello")
    def hello(x: int) -> int:
        return x + 1

    start = time.monotonic()
    assert hello(1) == 2
    assert tracereel.flush()
    sdk_to.wait_for_spans(1)
    with sdk_to.client() as http:
        traces = http.get("/api/v1/traces").json()["traces"]
    assert [t["root_name"] for t in traces] == ["invoke_agent hello"]
    assert time.monotonic() - start < 30
