"""Control: what the collector enforces on the data it takes in (redaction so far).

Imports nothing else from the collector: ingest calls into it (see tests/collector/test_layers.py).
"""

from tracereel.collector.control.redaction import KINDS, REDACTED_PREFIX, RedactionError, Redactor, load_redactor

__all__ = ["KINDS", "REDACTED_PREFIX", "RedactionError", "Redactor", "load_redactor"]
