"""Reading TOML on every Python tracereel supports: ``tomllib`` from 3.11, its ``tomli`` backport on 3.10.

The one place the version guard is written; the collector's price and redaction files read through it
(the server extra installs ``tomli`` on 3.10).
"""

from __future__ import annotations

import sys

if sys.version_info >= (3, 11):
    from tomllib import TOMLDecodeError, loads
else:  # pragma: no cover - Python 3.10 reads TOML with the tomli backport
    from tomli import TOMLDecodeError, loads

__all__ = ["TOMLDecodeError", "loads"]
