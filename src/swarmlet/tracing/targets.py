"""Who a model call goes to, as the ``chat`` span describes it: provider, span kind, server.

Providers are told apart by duck typing so that this module imports none of them: anything with
a ``base_url`` (``FastHTTPModel``) or an SDK client with one (``OpenAIChatModel`` around an
``openai`` client) talks Chat Completions over HTTP, so its span is a CLIENT span for provider
``openai`` (the conventions' rule for OpenAI-compatible clients: the real server shows in
``server.address``). The in-process models are INTERNAL spans.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

__all__ = ["ModelTarget", "describe_model", "secrets_of"]

# Custom provider names (the conventions allow them when no well-known value applies).
_IN_PROCESS = {
    "swarmlet.testing.scripted.ScriptedModel": "swarmlet.scripted",
    "swarmlet.models.local.LocalModel": "llama_cpp",
}
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class ModelTarget:
    """Where a model call goes: the attributes a ``chat`` span gets before the call."""

    provider: str
    remote: bool
    address: str | None = None
    port: int | None = None
    default_model: str | None = None


def describe_model(model: Any) -> ModelTarget:
    """Describe ``model`` (a provider instance) for tracing, without calling it."""
    default_model = getattr(model, "model", None)
    if not isinstance(default_model, str):
        default_model = None
    base_url = _base_url(model)
    if base_url is not None:
        address, port = _server(base_url)
        return ModelTarget("openai", True, address, port, default_model)
    cls = type(model)
    provider = _IN_PROCESS.get(f"{cls.__module__}.{cls.__qualname__}", cls.__name__)
    return ModelTarget(provider, False, None, None, default_model)


def _base_url(model: Any) -> str | None:
    url = getattr(model, "base_url", None)
    if url is None:
        url = getattr(getattr(model, "client", None), "base_url", None)
    return str(url) if url is not None else None


def _server(url: str) -> tuple[str | None, int | None]:
    """Host and port only: the user name, password, path and query of a URL never get out."""
    try:
        parts = urlsplit(url)
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
    except ValueError:  # a malformed URL (bad port): report nothing rather than fail the run
        return None, None
    return parts.hostname, port


def secrets_of(model: Any) -> tuple[str, ...]:
    """API keys this model may hold, to be scrubbed from error descriptions on spans."""
    headers = getattr(model, "_headers", None)  # FastHTTPModel keeps its key only there
    bearer = headers.get("authorization", "") if isinstance(headers, dict) else ""
    found = [
        bearer.removeprefix("Bearer ").strip(),
        getattr(model, "api_key", None),
        getattr(getattr(model, "client", None), "api_key", None),
        os.environ.get("OPENAI_API_KEY"),
        os.environ.get("AZURE_OPENAI_API_KEY"),
    ]
    return tuple(key for key in found if isinstance(key, str) and key)
