"""What a full-text search text is (issue 24 part 3): its words, and the texts refused, written once.

The collector parses ``q`` with it (collector/query/search.py, 400 on refusal) and the client
checks it before sending (an empty ``q`` would otherwise be dropped from the URL and list
every trace). Semantics, for both: the words are the whitespace-separated parts of the text;
a trace matches when every word occurs, as literal text and ignoring case, in the payloads
(tracereel/rules.py, search text) of any of its spans.
"""

from __future__ import annotations

from typing import Final

__all__ = ["MAX_SEARCH_CHARS", "search_words"]

MAX_SEARCH_CHARS: Final = 1000


def search_words(text: str) -> tuple[str, ...]:
    """The words of a search text, each once, in order; ValueError naming the problem if the text is
    empty, only whitespace, or over :data:`MAX_SEARCH_CHARS` characters."""
    if len(text) > MAX_SEARCH_CHARS:
        raise ValueError(f"q is {len(text):,} characters long; a search is at most {MAX_SEARCH_CHARS:,} characters")
    if not text:
        raise ValueError("q is empty: give the words to search for")
    words = tuple(dict.fromkeys(text.split()))
    if not words:
        raise ValueError("q is only whitespace: give the words to search for")
    return words
