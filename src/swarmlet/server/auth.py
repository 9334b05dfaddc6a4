"""Bearer-token authentication for the agent server.

Tokens come from ``SWARMLET_API_TOKENS`` (comma-separated) and/or a token file (one token per
line, ``#`` comments allowed). When neither gives one, :func:`load_tokens` generates a random
token, which ``swarmlet serve`` prints once at start so the operator can use it; it is never
written to a log.

Every endpoint except ``/health`` (and the static web UI and API docs pages, which hold no data)
requires ``Authorization: Bearer <token>``. Tokens are compared with
:func:`secrets.compare_digest` against every configured token, so the time taken does not tell
an attacker which prefix matched. A failure is a 401 whose body says what was wrong, never what
was expected.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from fastapi import HTTPException, Request, status

from swarmlet.exceptions import ConfigurationError

__all__ = ["TOKENS_ENV", "TokenAuth", "generate_token", "load_tokens", "require_token"]

TOKENS_ENV = "SWARMLET_API_TOKENS"
"""Environment variable holding the accepted API tokens, comma-separated."""

_MIN_TOKEN_LENGTH = 16


@dataclass(frozen=True)
class TokenAuth:
    """The accepted bearer tokens; an empty set means authentication is off.

    Attributes:
        tokens: the accepted tokens.
        generated: True when the token was generated at start (nothing was configured).
    """

    tokens: frozenset[str]
    generated: bool = False

    @property
    def enabled(self) -> bool:
        """Whether requests must carry a token."""
        return bool(self.tokens)

    def accepts(self, presented: str) -> bool:
        """Constant-time check of ``presented`` against every configured token."""
        given = presented.encode()
        matched = False
        for token in self.tokens:  # no early exit: the loop takes as long for any input
            matched |= secrets.compare_digest(given, token.encode())
        return matched

    def __repr__(self) -> str:  # keep tokens out of reprs, tracebacks and logs
        return f"TokenAuth(tokens=<{len(self.tokens)} hidden>, generated={self.generated})"


def generate_token() -> str:
    """A new random API token (32 bytes, URL-safe)."""
    return "swl_" + secrets.token_urlsafe(32)


def load_tokens(
    token_file: Path | None = None, *, environ: dict[str, str] | None = None
) -> TokenAuth:
    """The configured tokens (environment, then file), or a freshly generated one.

    Raises:
        ConfigurationError: the token file cannot be read, or a token is too short to be safe.
    """
    env = os.environ if environ is None else environ
    tokens = _split(env.get(TOKENS_ENV, "").split(","))
    if token_file is not None:
        try:
            lines = token_file.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ConfigurationError(
                f"cannot read --token-file {token_file}: {exc.strerror}"
            ) from None
        tokens |= _split(line for line in lines if not line.lstrip().startswith("#"))
    short = [t for t in tokens if len(t) < _MIN_TOKEN_LENGTH]
    if short:
        raise ConfigurationError(
            f"{len(short)} configured API token(s) are shorter than {_MIN_TOKEN_LENGTH} "
            "characters; use long random tokens (e.g. python -c 'import secrets; "
            "print(secrets.token_urlsafe(32))')."
        )
    if tokens:
        return TokenAuth(frozenset(tokens))
    return TokenAuth(frozenset({generate_token()}), generated=True)


def _split(items: Iterable[str]) -> set[str]:
    return {item.strip() for item in items if item.strip()}


def require_token(request: Request) -> None:
    """FastAPI dependency: reject the request with 401 unless it carries an accepted token."""
    auth: TokenAuth = request.app.state.auth
    if not auth.enabled:
        return
    header = request.headers.get("authorization", "")
    scheme, _, presented = header.partition(" ")
    if not header:
        _deny("missing Authorization header; send 'Authorization: Bearer <token>'")
    if scheme.lower() != "bearer" or not presented.strip():
        _deny("malformed Authorization header; expected 'Bearer <token>'")
    if not auth.accepts(presented.strip()):
        _deny("invalid API token")


def _deny(message: str) -> None:
    raise HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        detail={"type": "authentication_error", "code": "invalid_api_key", "message": message},
        headers={"WWW-Authenticate": "Bearer"},
    )
