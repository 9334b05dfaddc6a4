"""What both OpenAI-compatible providers agree on, without importing the ``openai`` SDK.

:class:`~swarmlet.models.openai_compat.OpenAIChatModel` (on the SDK) and
:class:`~swarmlet.models.fast_http.FastHTTPModel` (on bare HTTP) must send the same request body
and raise the same exception for the same HTTP status. Both rules live here, so the lean
provider never pays the SDK's import and the two cannot drift apart.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from swarmlet.exceptions import ModelConfigurationError, ModelError, ModelResponseError
from swarmlet.models.base import MessageDelta, ModelRequest
from swarmlet.redaction import redact

__all__ = [
    "StreamCheck",
    "chat_params",
    "error_message",
    "rejects_stream_options",
    "status_error",
]

logger = logging.getLogger("swarmlet.models")


def chat_params(
    request: ModelRequest,
    *,
    default_model: str | None,
    stream: bool,
    clean_unicode: bool = True,
    include_usage: bool = False,
) -> dict[str, Any]:
    """The Chat Completions request body (``create`` keyword arguments) for ``request``.

    ``tool_choice`` and ``parallel_tool_calls`` go only with tools and only when set: several
    servers reject them otherwise. ``default_model`` is used when the request names no model.
    ``clean_unicode=False`` skips replacing lone surrogates: for a caller that encodes the body
    itself and asks again with cleaning only when encoding fails (walking every message costs
    more than the encoding). ``include_usage`` asks a stream for its usage chunk
    (``stream_options``), for endpoints that accept it (see :func:`rejects_stream_options`).
    """
    messages = _valid_unicode(request.messages) if clean_unicode else request.messages
    params: dict[str, Any] = {
        "model": request.model or default_model,
        "messages": messages,
        **request.settings,
    }
    if request.tools:
        params["tools"] = request.tools
        if request.tool_choice is not None:
            params["tool_choice"] = request.tool_choice
        if request.parallel_tool_calls is not None:
            params["parallel_tool_calls"] = request.parallel_tool_calls
    if request.response_format is not None:
        params["response_format"] = request.response_format
    if stream:
        params["stream"] = True
        if include_usage:
            params["stream_options"] = {"include_usage": True}
    return params


def rejects_stream_options(error: ModelError) -> bool:
    """Whether ``error`` is an endpoint refusing ``stream_options`` (it does not know it).

    OpenAI and most compatible servers send a usage chunk when asked; some (older vLLM, Azure
    API versions, proxies) answer 400/422 naming the parameter. The providers then send the
    request again without it and stop asking that endpoint: streams never fail for usage.
    """
    text = str(error).lower()
    return error.status_code in (400, 422) and ("stream_options" in text or "include_usage" in text)


def status_error(status: int, detail: str, secret: str | None = None) -> ModelError:
    """The swarmlet exception for an HTTP error ``status`` whose server message is ``detail``.

    401/403/404 cannot succeed by retrying (wrong key, model or route), so they are
    configuration errors; every other status is a plain ``ModelError`` carrying it.
    ``secret`` (the API key sent) and anything shaped like a key are cut out of ``detail``:
    some servers echo the key they refused, and error messages end up in logs and traces.
    """
    detail = redact(detail, [secret])
    if status in (401, 403):
        return ModelConfigurationError(
            f"the endpoint refused the API key (HTTP {status}): {detail}", status_code=status
        )
    if status == 404:
        return ModelConfigurationError(
            f"the endpoint does not know this model or route (HTTP 404): {detail}",
            status_code=status,
        )
    return ModelError(f"the model endpoint answered HTTP {status}: {detail}", status_code=status)


def error_message(body: Any) -> str | None:
    """The server's message in an error body (``{"error": {"message": ...}}`` or flat), if any."""
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    message = body.get("message") or (error.get("message") if isinstance(error, dict) else None)
    return str(message) if message else None


_SURROGATE = re.compile("[\ud800-\udfff]")


def _valid_unicode(value: Any) -> Any:
    """``value`` with lone surrogates in its strings replaced by U+FFFD (the same object if none).

    Text decoded with ``surrogateescape`` (file names, subprocess output) carries lone
    surrogates, which cannot be encoded as UTF-8: the request would fail before being sent.
    """
    if isinstance(value, str):
        if value.isascii():
            return value
        return _SURROGATE.sub("\ufffd", value) if _SURROGATE.search(value) else value
    if isinstance(value, list):
        items = [_valid_unicode(item) for item in value]
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    if isinstance(value, dict):
        fixed = {key: _valid_unicode(item) for key, item in value.items()}
        return value if all(fixed[k] is v for k, v in value.items()) else fixed
    return value


class StreamCheck:
    """The stream policy both providers document, applied delta by delta.

    The provider passes each delta through :meth:`see` as it yields it and calls :meth:`end`
    when the stream is over. A stream with no choice at all (an empty stream, or a body that
    is not server-sent events) raises ``ModelResponseError``, as a complete response without
    choices does. A stream that ends without a ``finish_reason`` is accepted as it is
    (logged): what arrived is the reply. A plain object rather than a wrapping generator:
    every delta passes through each generator layer between the model and the consumer.
    """

    __slots__ = ("finished", "seen_choice")

    def __init__(self) -> None:
        self.seen_choice = False
        self.finished = False

    def see(self, delta: MessageDelta) -> MessageDelta:
        """Note what ``delta`` carries; return it unchanged."""
        if not self.seen_choice and not _usage_only(delta):
            self.seen_choice = True
        if delta.finish_reason:
            self.finished = True
        return delta

    def end(self) -> None:
        """Apply the policy to the whole stream, which has ended.

        Raises:
            ModelResponseError: the stream had no choice at all.
        """
        if not self.seen_choice:
            raise ModelResponseError("the endpoint streamed no choices (an empty or non-SSE body)")
        if not self.finished:
            logger.warning("the model's stream ended without a finish_reason; kept as received")


def _usage_only(delta: MessageDelta) -> bool:
    """A delta made from a usage chunk alone (a chunk with no choice)."""
    return delta.usage is not None and not (
        delta.role or delta.content or delta.tool_calls or delta.finish_reason or delta.refusal
    )
