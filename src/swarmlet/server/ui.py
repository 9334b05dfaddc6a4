"""The web UI: static files shipped in the package, served at ``/`` (no CDN, works offline)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

__all__ = ["STATIC_DIR", "mount"]

STATIC_DIR = Path(__file__).parent / "static"
"""Where the page, script and stylesheet live."""


def mount(app: FastAPI) -> None:
    """Serve the web UI at ``/`` (the page holds no data; the API calls it makes need a token)."""
    if (STATIC_DIR / "index.html").is_file():
        app.mount("/", StaticFiles(directory=STATIC_DIR, html=True), name="ui")
