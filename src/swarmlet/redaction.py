"""Keeping secrets out of error messages and traces.

One rule for every place text leaves swarmlet (exception messages, span attributes): the API
keys swarmlet knows are replaced, and so is anything shaped like a key (an OpenAI-style
``sk-...`` key, a bearer token), because an endpoint or a proxy may echo a key swarmlet never
held.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["REDACTED", "redact"]

REDACTED = "[REDACTED]"

_KEY_SHAPED = re.compile(r"\bsk-[A-Za-z0-9_\-]{12,}|(?i:bearer)\s+[A-Za-z0-9._~+/=\-]{8,}")


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with the known secrets and anything shaped like an API key replaced."""
    for secret in secrets:
        if secret and len(secret) >= 8:  # a short "key" would mangle ordinary words
            text = text.replace(secret, REDACTED)
    return _KEY_SHAPED.sub(REDACTED, text)
