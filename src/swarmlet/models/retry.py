"""The openai SDK's retry policy, for providers that do their own HTTP.

:class:`~swarmlet.models.fast_http.FastHTTPModel` must retry exactly when, and wait exactly as
long as, the SDK provider does (the HTTP fault suite runs against both): ``max_retries``
further attempts on connection errors, timeouts, 408, 409, 429 and 5xx (``x-should-retry``
overrides the status), waiting ``Retry-After``/``retry-after-ms`` when it is in (0, 120] s, else
exponential backoff; a ``Retry-After`` over 120 s is not retried at all.
"""

from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Mapping

__all__ = ["MAX_RETRY_AFTER", "retry_delay", "server_delay", "should_retry"]

_RETRY_STATUSES = frozenset({408, 409, 429})  # and every 5xx
_MAX_BACKOFF = 8.0
MAX_RETRY_AFTER = 120.0
"""The SDK's cap: a longer ``Retry-After`` is not waited for; the error is raised at once."""


def should_retry(status: int, headers: Mapping[str, str]) -> bool:
    """The SDK's rule: not past the Retry-After cap, then ``x-should-retry``, then the status.

    ``headers`` must look names up case-insensitively (as HTTP clients' header maps do).
    """
    delay = server_delay(headers)
    if delay is not None and math.isfinite(delay) and delay > MAX_RETRY_AFTER:
        return False  # the server asks for more patience than a request should have
    hint = headers.get("x-should-retry")
    if hint in ("true", "false"):
        return hint == "true"
    return status in _RETRY_STATUSES or status >= 500


def server_delay(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asks to wait (``retry-after-ms``, ``retry-after``: seconds or date)."""
    for name, divisor in (("retry-after-ms", 1000), ("retry-after", 1)):
        value = headers.get(name)
        if value is not None:
            try:
                return float(value) / divisor
            except ValueError:
                continue
    try:
        date = email.utils.parsedate_tz(headers.get("retry-after"))
        return None if date is None else email.utils.mktime_tz(date) - time.time()
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def retry_delay(attempt: int, server_delay: float | None) -> float:
    """Seconds to wait before retry number ``attempt + 1``: the server's wish, else backoff."""
    if server_delay is not None and 0 < server_delay <= MAX_RETRY_AFTER:
        return server_delay  # 0, negative (a past date) or NaN: back off instead
    backoff: float = min(0.5 * 2**attempt, _MAX_BACKOFF)
    return backoff * (1 - 0.25 * random.random())
