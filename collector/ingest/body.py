"""Request bodies: reading with a cap, and decompressing incrementally with a cap on the output.

A 2 GiB gzip bomb is about 2 MB on the wire (CVE-2024-36129), so the output is capped while
decompressing, never after.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator

__all__ = ["BodyError", "decompress", "read_capped"]


class BodyError(Exception):
    """The body cannot be accepted; carries the HTTP status and a message naming the problem."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status, message)  # both in args, so it survives the parse workers' pickling
        self.status = status
        self.message = message

    def __str__(self) -> str:
        return self.message


async def read_capped(chunks: AsyncIterator[bytes], limit: int, *, discard_up_to: int = 0) -> bytes:
    """Read the whole body, refusing with 413 once it passes ``limit`` bytes.

    Past the limit the rest is read and thrown away, up to ``discard_up_to`` bytes in all, so
    the client hears the 413 rather than a connection reset while it is still sending (which
    it would take for a network error, and retry).
    """
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            if size > discard_up_to:
                break
            continue
        parts.append(chunk)
    if size > limit:
        raise BodyError(413, f"request body is larger than the limit of {limit} bytes")
    return b"".join(parts)


def decompress(body: bytes, encoding: str, limit: int) -> bytes:
    """Undo ``Content-Encoding`` (identity, gzip, deflate), producing at most ``limit`` bytes."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding in ("gzip", "x-gzip"):
        wbits = 16 + zlib.MAX_WBITS
    elif encoding == "deflate":
        wbits = zlib.MAX_WBITS if body[:1] == b"\x78" else -zlib.MAX_WBITS
    else:
        raise BodyError(415, f"unsupported Content-Encoding {encoding!r}: use gzip, deflate or none")
    decoder = zlib.decompressobj(wbits)
    try:
        out = decoder.decompress(body, limit + 1)
    except zlib.error as exc:
        raise BodyError(400, f"body is not valid {encoding} data: {exc}") from None
    if len(out) > limit or decoder.unconsumed_tail:
        raise BodyError(413, f"request body is larger than the limit of {limit} bytes after decompression")
    if not decoder.eof:
        raise BodyError(400, f"body is truncated {encoding} data")
    return out
