"""The fake OpenAI-compatible server answers like the real API does (it stands in for a provider)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from tests.fake_openai import FakeOpenAI


def _chat(base_url: str, content: str, key: str | None = None) -> dict:
    body = json.dumps({"model": "gpt-test", "messages": [{"role": "user", "content": content}]}).encode()
    headers = {"content-type": "application/json", **({"authorization": f"Bearer {key}"} if key else {})}
    request = urllib.request.Request(f"{base_url}/chat/completions", data=body, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_answers_with_the_responders_content_and_records_the_request():
    with FakeOpenAI(lambda request: request["messages"][-1]["content"].upper()) as llm:
        answer = _chat(llm.base_url, "hello")
    assert answer["choices"][0]["message"] == {"role": "assistant", "content": "HELLO"}
    assert answer["model"] == "gpt-test" and answer["usage"]["prompt_tokens"] == 10
    assert llm.requests[0]["messages"] == [{"role": "user", "content": "hello"}]


def test_a_key_is_checked_when_set():
    with FakeOpenAI(api_key="sk-test") as llm:
        with pytest.raises(urllib.error.HTTPError) as caught:
            _chat(llm.base_url, "hi")
        assert caught.value.code == 401
        assert _chat(llm.base_url, "hi", key="sk-test")["choices"][0]["message"]["content"] == "echo: hi"
