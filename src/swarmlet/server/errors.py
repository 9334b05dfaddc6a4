"""One error shape for the whole API: ``{"error": {"type": ..., "message": ...}}``.

It is OpenAI's shape, so the chat-completions facade needs no second one, and OpenAI clients
raise their usual exceptions (``AuthenticationError`` for 401...). Validation errors list what
was wrong with which field, without echoing the submitted values back.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

__all__ = ["api_error", "install_error_handlers"]

logger = logging.getLogger("swarmlet.server")


def api_error(status: int, kind: str, message: str, **extra: Any) -> HTTPException:
    """An ``HTTPException`` that renders as ``{"error": {"type": kind, "message": ...}}``."""
    return HTTPException(status, detail={"type": kind, "message": message, **extra})


def install_error_handlers(app: FastAPI) -> None:
    """Render HTTP errors, validation errors and unexpected exceptions in the one shape."""
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected_error)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail: Any = exc.detail  # a dict when raised through api_error
    if isinstance(detail, dict):
        body = dict(detail)
    else:
        body = {"type": _kind(exc.status_code), "message": str(exc.detail)}
    return JSONResponse({"error": body}, status_code=exc.status_code, headers=exc.headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {"location": ".".join(str(p) for p in error.get("loc", ())), "problem": error.get("msg")}
        for error in exc.errors()
    ]
    summary = "; ".join(f"{p['location']}: {p['problem']}" for p in problems[:5])
    body = {"type": "invalid_request_error", "message": f"invalid request: {summary}"}
    return JSONResponse({"error": {**body, "details": problems}}, status_code=422)


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    # The traceback goes to the server's log; the client learns only that it was our fault.
    logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    body = {"type": "internal_error", "message": "internal server error (see the server log)"}
    return JSONResponse({"error": body}, status_code=500)


def _kind(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_")
    except ValueError:
        return "error"
