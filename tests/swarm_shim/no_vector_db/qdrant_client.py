"""Stand-in for ``qdrant_client``: no Qdrant vector database runs in the test environment.

Constructing the client works (the real one connects lazily too); searching fails the way an
unreachable database does, and the support_bot example's ``query_docs`` tool reports it.
"""

from __future__ import annotations

from typing import Any


class QdrantClient:
    """A client for a Qdrant server that is not there."""

    def __init__(self, **options: Any) -> None:
        self.options = options

    def search(self, **query: Any) -> Any:
        raise ConnectionError("no Qdrant vector database is running (test environment)")
