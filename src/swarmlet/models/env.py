"""Reading the model endpoint from the environment (and a ``.env`` file), without the SDK.

The variables are the official ``openai`` SDK's: ``OPENAI_API_KEY``, ``OPENAI_BASE_URL``,
``OPENAI_ORG_ID`` and ``OPENAI_PROJECT_ID``, so one configuration serves both providers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from swarmlet.exceptions import ConfigurationError

__all__ = ["NO_KEY_PLACEHOLDER", "Endpoint", "endpoint_from_env", "load_dotenv_file"]

NO_KEY_PLACEHOLDER = "swarmlet-no-key"
"""API key sent to a custom base URL when none is configured (local servers ignore it)."""

OPENAI_BASE_URL = "https://api.openai.com/v1"


@dataclass(frozen=True)
class Endpoint:
    """Where to send requests and how to authenticate."""

    base_url: str
    api_key: str
    organization: str | None = None
    project: str | None = None


def load_dotenv_file() -> None:
    """Load ``.env`` (from the working directory upwards) without overriding set variables."""
    from dotenv import find_dotenv, load_dotenv

    path = find_dotenv(usecwd=True)
    if path:
        load_dotenv(path, override=False)


def endpoint_from_env(*, base_url: str | None = None, load_dotenv: bool = True) -> Endpoint:
    """The endpoint configured by the environment; ``base_url`` wins over ``OPENAI_BASE_URL``.

    A base URL without a key is allowed: local servers (Ollama, vLLM, llama.cpp, LM Studio)
    do not check it.

    Raises:
        ConfigurationError: neither a key nor a base URL is configured.
    """
    if load_dotenv:
        load_dotenv_file()
    key = os.environ.get("OPENAI_API_KEY") or None
    url = base_url or os.environ.get("OPENAI_BASE_URL") or None
    if key is None and url is None:
        raise ConfigurationError(
            "No model endpoint configured: set OPENAI_API_KEY (in the environment or a .env "
            "file), or OPENAI_BASE_URL for a local OpenAI-compatible server, or pass "
            "client=... to Swarm(), or give the agent a provider instance as its model."
        )
    return Endpoint(
        base_url=url or OPENAI_BASE_URL,
        api_key=key or NO_KEY_PLACEHOLDER,
        organization=os.environ.get("OPENAI_ORG_ID") or None,
        project=os.environ.get("OPENAI_PROJECT_ID") or None,
    )
